// The work queue (issue 15 item 8), on SQLite and PostgreSQL: the conversation pass queues the
// conversations whose lastMessage changed, in the page's transaction; the incremental message pass
// reads only the queue, so on a 100,000-conversation mirror an idle pass reads O(1) rows.
import { describe, expect, it } from "vitest";
import type { SyncSettings } from "../../src/config/index.ts";
import { messageWork } from "../../src/store/sql/messages.ts";
import { type Sql, sql } from "../../src/store/sql/shared.ts";
import { queuedMessageWork } from "../../src/store/sql/work-queue.ts";
import type { Store } from "../../src/store/store.ts";
import { runMirrorJob } from "../../src/sync/jobs.ts";
import { runMessagePass } from "../../src/sync/messages.ts";
import { PROVIDERS, useStore } from "../helpers/db.ts";
import { SKEW_MS, useHarnesses } from "../sync/harness.ts";

const SETTINGS: SyncSettings = {
  clockSkewMs: SKEW_MS,
  maxDeleteShare: 0.1,
  mirrorMessages: true,
  messageConcurrency: 4,
  backfillConcurrency: 1,
};
const T = "2026-01-01T00:00:00.000+00:00";

/** Rows a PostgreSQL plan touched: every node's output plus what its filters removed, per loop. */
function rowsTouched(plan: Record<string, unknown>): number {
  const loops = Number(plan["Actual Loops"] ?? 1);
  const own = String(plan["Node Type"]).includes("Scan")
    ? (Number(plan["Actual Rows"] ?? 0) + Number(plan["Rows Removed by Filter"] ?? 0)) * loops
    : 0;
  const children = (plan.Plans as Record<string, unknown>[] | undefined) ?? [];
  return own + children.reduce((sum, child) => sum + rowsTouched(child), 0);
}

async function pgRowsTouched(store: Store, statement: Sql): Promise<number> {
  const [row] = await store.queryRaw(sql`EXPLAIN (ANALYZE, FORMAT JSON) ${statement}`);
  const json = row?.["QUERY PLAN"];
  const parsed = (typeof json === "string" ? JSON.parse(json) : json) as { Plan: Record<string, unknown> }[];
  return rowsTouched(parsed[0]?.Plan ?? {});
}

describe.each(PROVIDERS)("work queue on %s", (provider) => {
  const fixture = useStore(provider, { poolSize: 4 });
  const { skip } = fixture;
  const open = useHarnesses(fixture);

  it.skipIf(skip)("a changed lastMessage is queued with its page and dequeued once mirrored", async () => {
    const store = fixture.store;
    const h = await open("exclusive", { conversations: 80, burst: 0 });
    await runMirrorJob(h.ctx, "backfill", { settings: SETTINGS });
    expect(await store.messages.queued(h.appId)).toBe(0);
    const ids = h.sim.allConversations().map((c) => c.id);
    h.sim.addMessage(ids[3] as string, { senderId: null, text: "one" });
    h.sim.addMessage(ids[7] as string, { senderId: null, text: "two" });
    h.sim.updateConversation(ids[9] as string, { subject: "metadata only" });
    await runMirrorJob(h.ctx, "sync", { settings: { ...SETTINGS, mirrorMessages: false } });
    expect(await store.messages.queued(h.appId)).toBe(2);
    const pass = await runMessagePass(h.ctx);
    expect(pass.conversations).toBe(2);
    expect(await store.messages.queued(h.appId)).toBe(0);
  });

  it.skipIf(skip)("an idle message pass on a 100,000-conversation mirror reads O(1) rows", async () => {
    const store = fixture.store;
    const h = await open("exclusive", { conversations: 0, burst: 0 });
    const app = h.appId;
    // A mirror whose every conversation's messages are complete, built with SQL (no backfill).
    await store.queryRaw(sql`WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 100000)
      INSERT INTO conversations (app_id, id, custom, last_message_id, created_at, last_activity_at,
        participant_count, raw, content_hash, first_seen_at, synced_at, updated_at)
      SELECT ${app}, 'c' || i, '{}', 'm' || i, ${T}, ${T}, 0, '{}', 'h', ${T}, ${T}, ${T} FROM n`);
    await store.queryRaw(sql`WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 100000)
      INSERT INTO message_sync_state (app_id, conversation_id, last_message_id, synced_at)
      SELECT ${app}, 'c' || i, 'm' || i, ${T} FROM n`);
    if (provider === "postgresql")
      await store.queryRaw(sql`ANALYZE conversations, message_sync_state, work_queue`);

    h.sim.clearRequestLog();
    const pass = await runMessagePass(h.ctx);
    expect(pass.conversations).toBe(0);
    expect(h.sim.requestLog).toHaveLength(0);

    if (provider === "postgresql") {
      // The statement the pass runs touches nothing; the join it replaced reads the whole mirror.
      expect(await pgRowsTouched(store, queuedMessageWork(app, 200))).toBeLessThanOrEqual(1);
      expect(
        await pgRowsTouched(store, messageWork(app, { changedOnly: true, limit: 200 })),
      ).toBeGreaterThanOrEqual(100_000);
    } else {
      // SQLite: the plan starts from the queue's primary key; the other tables are point lookups.
      const plan = await store.queryRaw(sql`EXPLAIN QUERY PLAN ${queuedMessageWork(app, 200)}`);
      const lines = plan.map((r) => String(r.detail));
      expect(lines[0]).toMatch(/^SEARCH q USING .*work_queue.* \(app_id=\? AND kind=\?/);
      for (const line of lines.slice(1))
        expect(line).toMatch(/^SEARCH .*\(app_id=\? AND (id|conversation_id)=\?\)/);
    }
  });
});
