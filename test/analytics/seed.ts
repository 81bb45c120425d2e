// A mirror worth analysing: a simulated app backed up over real HTTP by the real engine, then
// changed (new messages, new empty conversations, deletions) and brought up to date with sync and
// reconcile — so the views see live and deleted rows, recorded runs and today's activity.

import type { Store } from "../../src/store/store.ts";
import { runBackfill } from "../../src/sync/backfill.ts";
import { runSync } from "../../src/sync/incremental.ts";
import { runReconcile } from "../../src/sync/reconcile.ts";
import type { Conversation } from "../../src/talkjs/types.ts";
import { type Harness, harness, SKEW_MS } from "../sync/harness.ts";

export interface Seeded {
  h: Harness;
  /** Live at the simulator (= live in the mirror). */
  live: Conversation[];
  deletedIds: string[];
}

export async function seedMirror(store: Store, conversations = 900): Promise<Seeded> {
  const h = await harness(store, "exclusive", { conversations, burst: 0, seed: 7 });
  await runBackfill(h.ctx, { clockSkewMs: SKEW_MS });
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
  const deletedIds = [ids[3], ids[40], ids[ids.length - 5]] as string[];
  for (const id of deletedIds) h.sim.deleteConversation(id);
  await runSync(h.ctx, { clockSkewMs: SKEW_MS });
  await runReconcile(h.ctx, { maxDeleteShare: 0.1, allowMassDelete: false });
  return { h, live: h.sim.allConversations(), deletedIds };
}
