// A backfill resumed in the middle of a 20,000-conversation tie group (issue 15 item 6, issue 14).
// The group is served by the simulator; the half already mirrored is inserted with SQL (no minutes
// of CI backfilling), and the checkpoint names an anchor inside the group. The resumed pass lists
// only the rest, one request per page, and every checkpoint it writes stays a few KB — the cursor
// keeps at most TIE_IDS_KEPT ids of the group, not all of them.
import { describe, expect, it } from "vitest";
import { contentHash } from "../../src/store/hash.ts";
import { sql } from "../../src/store/sql/shared.ts";
import type { Store } from "../../src/store/store.ts";
import { runBackfill } from "../../src/sync/backfill.ts";
import { BACKFILL_STREAM } from "../../src/sync/streams.ts";
import { TIE_IDS_KEPT } from "../../src/talkjs/pagination.ts";
import { PROVIDERS, useStore } from "../helpers/db.ts";
import { type Harness, listingRequests, mirrorRows, SKEW_MS, useHarnesses } from "./harness.ts";

const GROUP = 20_000;
const MIRRORED = 16_000;
/** Ids tie-10000 … tie-29999: same width, so their string order is their number order. */
const tieId = (i: number) => `tie-${10_000 + i}`;
const T = "2026-01-01T00:00:00.000+00:00";

/** The group at one createdAt, before every generated conversation of the app. */
function addTieGroup(h: Harness): number {
  const first = Math.min(...h.sim.allConversations().map((c) => c.createdAt));
  const ts = first - 1_000;
  for (let i = 0; i < GROUP; i++)
    h.sim.createConversation({ id: tieId(i), createdAt: ts, participants: ["u1"] });
  return ts;
}

/** The first MIRRORED members of the group, as rows a previous run wrote (inserted with SQL). */
async function insertMirroredHalf(store: Store, appId: string): Promise<void> {
  await store.queryRaw(sql`WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < ${MIRRORED - 1})
    INSERT INTO conversations (app_id, id, custom, created_at, last_activity_at,
      participant_count, raw, content_hash, first_seen_at, synced_at, updated_at)
    SELECT ${appId}, 'tie-' || (i + 10000), '{}', ${T}, ${T}, 0, '{}', 'seeded', ${T}, ${T}, ${T} FROM n`);
}

/** The store, recording the size of every checkpoint a page commit writes. */
function recordingCheckpoints(store: Store): { store: Store; sizes: number[] } {
  const sizes: number[] = [];
  const recording = Object.create(store) as Store;
  recording.upsertConversations = (appId, list, opts) => {
    if (opts.checkpoint?.cursor) sizes.push(Buffer.byteLength(opts.checkpoint.cursor));
    return store.upsertConversations(appId, list, opts);
  };
  return { store: recording, sizes };
}

/** Every simulator conversation is mirrored; those the resumed pass wrote have their exact content. */
async function expectAllMirrored(h: Harness, store: Store): Promise<void> {
  const rows = await mirrorRows(store, h.appId);
  const problems: string[] = [];
  for (const c of h.sim.allConversations()) {
    const row = rows.get(c.id);
    if (!row) problems.push(`${c.id}: missing`);
    else if (row.hash !== "seeded" && row.hash !== contentHash(c)) problems.push(`${c.id}: content differs`);
  }
  expect(problems.slice(0, 10)).toEqual([]);
  expect(rows.size).toBe(h.sim.allConversations().length + h.sim.deletedIds().length);
}

describe.each(PROVIDERS)("backfill resumed inside a 20,000-conversation tie group on %s", (provider) => {
  const fixture = useStore(provider, { poolSize: 4 });
  const { skip } = fixture;
  const open = useHarnesses(fixture);

  it.skipIf(skip)(
    "checkpoint anchored in the group: lists only the rest, one request per page, checkpoints stay small",
    async () => {
      const h = await open("exclusive", { conversations: 40, burst: 0 });
      const ts = addTieGroup(h);
      await insertMirroredHalf(fixture.store, h.appId);
      const anchor = tieId(MIRRORED - 1);
      const kept = Array.from({ length: TIE_IDS_KEPT }, (_, k) => tieId(MIRRORED - TIE_IDS_KEPT + k));
      await fixture.store.saveSyncState(h.appId, BACKFILL_STREAM, {
        cursor: JSON.stringify({
          passStartedAt: Date.now(),
          windows: [
            { from: null, until: null, pager: { ts, idsAtTs: kept, startingAfter: anchor }, done: false },
          ],
        }),
      });
      h.sim.clearRequestLog();
      const recording = recordingCheckpoints(fixture.store);
      const run = await runBackfill({ ...h.ctx, store: recording.store }, { clockSkewMs: SKEW_MS });
      expect(run.resumed).toBe(true);
      const rest = GROUP - MIRRORED + 40;
      expect(run.fetched).toBe(rest);
      expect(run.inserted).toBe(rest);
      // Plain startingAfter paging needs ceil(rest / 30) pages plus the empty one that ends it.
      expect(listingRequests(h.sim)).toBe(Math.ceil(rest / 30) + 1);
      expect(h.sim.requestLog.find((r) => /\/conversations$/.test(r.path))?.query.startingAfter).toBe(anchor);
      // Bounded: at most TIE_IDS_KEPT ids of ~12 bytes each, whatever the size of the group.
      expect(recording.sizes.length).toBeGreaterThan(0);
      expect(Math.max(...recording.sizes)).toBeLessThan(2_000);
      await expectAllMirrored(h, fixture.store);
    },
  );

  it.skipIf(skip)(
    "an old checkpoint listing all 16,000 ids, its anchor deleted since (answered empty), offsetTs inclusive",
    async () => {
      const h = await open("inclusive", {
        conversations: 40,
        burst: 0,
        sim: { deletedAnchor: "empty" },
      });
      const ts = addTieGroup(h);
      await insertMirroredHalf(fixture.store, h.appId);
      const anchor = tieId(MIRRORED - 1);
      // Written before the bound: every id of the group yielded so far (~200 KB), the pre-window shape.
      const all = Array.from({ length: MIRRORED }, (_, k) => tieId(k));
      const old = JSON.stringify({
        passStartedAt: Date.now(),
        pager: { ts, idsAtTs: all, startingAfter: anchor },
      });
      expect(old.length).toBeGreaterThan(100_000);
      await fixture.store.saveSyncState(h.appId, BACKFILL_STREAM, { cursor: old });
      h.sim.deleteConversation(anchor);
      h.sim.clearRequestLog();
      const recording = recordingCheckpoints(fixture.store);
      const run = await runBackfill({ ...h.ctx, store: recording.store }, { clockSkewMs: SKEW_MS });
      expect(run.resumed).toBe(true);
      const rest = GROUP - MIRRORED + 40;
      expect(run.fetched).toBe(rest);
      // The empty answer is checked (GET: 404), then the id before the anchor anchors the listing.
      const lists = h.sim.requestLog.filter((r) => /\/conversations$/.test(r.path));
      expect(lists.slice(0, 2).map((r) => r.query.startingAfter)).toEqual([anchor, tieId(MIRRORED - 2)]);
      expect(listingRequests(h.sim)).toBe(Math.ceil(rest / 30) + 2);
      // The first checkpoint written already holds the bounded cursor.
      expect(Math.max(...recording.sizes)).toBeLessThan(2_000);
      await expectAllMirrored(h, fixture.store);
    },
  );
});
