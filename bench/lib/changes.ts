// Changes at the simulator between measured syncs, made through its HTTP API like TalkJS's own.
import { APP, SECRET } from "./config.ts";
import { conversationIdsWithMessages, type Db, firstConversationIds } from "./db.ts";
import type { Sim } from "./processes.ts";

/** Conversations the k new messages of addMessages are spread over (k <= this: one message each). */
const MESSAGE_SPREAD = 250;

async function postMessages(sim: Sim, conversationId: string, texts: string[]): Promise<void> {
  const res = await fetch(
    `${sim.url}/v1/${APP}/conversations/${encodeURIComponent(conversationId)}/messages`,
    {
      method: "POST",
      headers: { authorization: `Bearer ${SECRET}`, "content-type": "application/json" },
      body: JSON.stringify(texts.map((text) => ({ text, type: "SystemMessage" }))),
    },
  );
  if (!res.ok) throw new Error(`POST messages failed: ${res.status} ${await res.text()}`);
}

/** k conversations of the mirror get a new message at the simulator. */
export async function touch(sim: Sim, db: Db, k: number, round: number): Promise<void> {
  if (k === 0) return;
  for (const id of await firstConversationIds(db, k)) await postMessages(sim, id, [`bench change ${round}`]);
}

/**
 * k new messages at the simulator, spread round-robin over min(k, MESSAGE_SPREAD) conversations
 * that already have messages (a reply in an active conversation, the common case). Returns how
 * many conversations changed.
 */
export async function addMessages(sim: Sim, db: Db, k: number, round: number): Promise<number> {
  const n = Math.min(k, MESSAGE_SPREAD);
  const ids = await conversationIdsWithMessages(db);
  const chosen = ids.slice(round * MESSAGE_SPREAD, round * MESSAGE_SPREAD + n);
  for (const [i, id] of chosen.entries()) {
    const count = Math.floor(k / n) + (i < k % n ? 1 : 0);
    await postMessages(
      sim,
      id,
      Array.from({ length: count }, (_, j) => `bench ${round}.${j}`),
    );
  }
  return chosen.length;
}
