// A mirror worth analysing: a simulated app backed up over real HTTP by the real engine — its
// conversations and every message — then changed (new messages, new empty conversations,
// conversation deletions, old messages edited and deleted) and brought up to date with sync,
// reconcile and a deep message pass, so the views see live and deleted rows of both kinds,
// recorded runs and today's activity.

import type { Store } from "../../src/store/store.ts";
import { runBackfill } from "../../src/sync/backfill.ts";
import { runSync } from "../../src/sync/incremental.ts";
import { runMessagePass } from "../../src/sync/messages.ts";
import { runReconcile } from "../../src/sync/reconcile.ts";
import type { Conversation, Message } from "../../src/talkjs/types.ts";
import { type Harness, harness, SKEW_MS } from "../sync/harness.ts";

export interface Seeded {
  h: Harness;
  /** Live at the simulator (= live in the mirror). */
  live: Conversation[];
  deletedIds: string[];
  /** Messages deleted at the simulator (in live conversations); the mirror keeps them with deleted_at. */
  deletedMessageIds: string[];
  /** Messages mirrored before their conversation was deleted (kept, not themselves deleted). */
  messagesOfDeletedConversations: Message[];
}

/** Every live message at the simulator: the messages of its live conversations. */
export function liveMessages(seeded: Pick<Seeded, "h" | "live">): Message[] {
  return seeded.live.flatMap((c) => seeded.h.sim.messages(c.id));
}

export const byKey = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

const utcDay = (ms: number) => new Date(ms).toISOString().slice(0, 10);

/** The median as the report defines it: the middle value, or the mean of the two middle ones, rounded. */
export function median(values: number[]): number {
  const v = [...values].sort((a, b) => a - b);
  const mid = Math.floor((v.length - 1) / 2);
  return Math.round(
    v.length % 2 === 1 ? (v[mid] as number) : ((v[mid] as number) + (v[mid + 1] as number)) / 2,
  );
}

/**
 * Replies computed from the simulator's messages, independently of the SQL: per conversation, the
 * messages with a sender in (createdAt, id) order; a message answering someone else's is a reply.
 */
export function simulatorReplies(messages: Message[]): { senderId: string; day: string; ms: number }[] {
  const byConversation = new Map<string, Message[]>();
  for (const m of messages) {
    if (m.senderId === null) continue;
    byConversation.set(m.conversationId, [...(byConversation.get(m.conversationId) ?? []), m]);
  }
  const out: { senderId: string; day: string; ms: number }[] = [];
  for (const list of byConversation.values()) {
    list.sort((a, b) => a.createdAt - b.createdAt || byKey(a.id, b.id));
    for (let i = 1; i < list.length; i++) {
      const prev = list[i - 1] as Message;
      const m = list[i] as Message;
      if (prev.senderId !== m.senderId) {
        out.push({
          senderId: m.senderId as string,
          day: utcDay(m.createdAt),
          ms: m.createdAt - prev.createdAt,
        });
      }
    }
  }
  return out;
}

export async function seedMirror(store: Store, conversations = 900): Promise<Seeded> {
  const h = await harness(store, "exclusive", { conversations, burst: 0, seed: 7 });
  await runBackfill(h.ctx, { clockSkewMs: SKEW_MS });
  await runMessagePass(h.ctx);
  const ids = h.sim
    .allConversations()
    .map((c) => c.id)
    .sort();
  for (let i = 0; i < 12; i++)
    h.sim.addMessage(ids[i * 7] as string, { senderId: "user_00001", text: "When will it ship? 🚚" });
  for (let i = 0; i < 6; i++) {
    h.sim.createConversation({
      id: `fresh ${i} ✨`,
      subject: `Neu ${i}`,
      participants: ["user_00002", `guest_${i}`],
      custom: { category: "shoes" },
    });
  }
  // A question and its answer a few minutes later, in one of the new conversations.
  const now = Date.now();
  h.sim.addMessage("fresh 0 ✨", {
    senderId: "guest_0",
    text: "Is it waterproof?",
    createdAt: now - 300_000,
  });
  h.sim.addMessage("fresh 0 ✨", { senderId: "user_00002", text: "Yes, fully.", createdAt: now - 60_000 });
  const deletedIds = [ids[3], ids[40], ids[ids.length - 5]] as string[];
  const messagesOfDeletedConversations = deletedIds.flatMap((id) => h.sim.messages(id));
  for (const id of deletedIds) h.sim.deleteConversation(id);
  // Old messages edited and deleted (not the newest: that would change the conversation), in the
  // live conversation with the longest history among the first ones.
  const long = ids
    .slice(50, 150)
    .map((id) => h.sim.messages(id))
    .sort((a, b) => b.length - a.length)[0] as Message[];
  const convId = long[0]?.conversationId as string;
  const deletedMessageIds = [long[2]?.id, long[5]?.id] as string[];
  for (const id of deletedMessageIds) h.sim.deleteMessage(convId, id);
  h.sim.editMessage(convId, long[7]?.id as string, { text: "edited later ✏️" });
  await runSync(h.ctx, { clockSkewMs: SKEW_MS });
  await runMessagePass(h.ctx);
  await runReconcile(h.ctx, { maxDeleteShare: 0.1, allowMassDelete: false });
  // Deleted messages that share the oldest returned millisecond are unproven by one re-read (the
  // listing could have stopped inside that tie): a second deep re-read confirms them.
  const deletions = { maxDeleteShare: 0.1, allowMassDelete: false, confirmAfterMs: 0 };
  await runMessagePass(h.ctx, { deep: true, deletions });
  await runMessagePass(h.ctx, { deep: true, deletions });
  return {
    h,
    live: h.sim.allConversations(),
    deletedIds,
    deletedMessageIds,
    messagesOfDeletedConversations,
  };
}
