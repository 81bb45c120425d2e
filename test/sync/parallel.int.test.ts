// The parallel backfill (`backfill --concurrency N`) against the simulator on real databases, in
// both offsetTs readings: with tie groups bigger than a page sitting exactly ON every window
// boundary (and one millisecond before it), the windows together list every conversation exactly
// once and the mirror equals a sequential pass's; a crash mid-pass resumes every window from its
// own committed cursor.
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { OffsetTsMode } from "../../src/simulator/types.ts";
import { openStore, type Store } from "../../src/store/store.ts";
import { type BackfillWindow, runBackfill, splitRange, windowsFor } from "../../src/sync/backfill.ts";
import { BACKFILL_STREAM } from "../../src/sync/streams.ts";
import { freshDatabase, PROVIDERS, postgresAvailable, type TestDatabase } from "../helpers/db.ts";
import { expectMirrorEquals, type Harness, harness, mirrorRows, SKEW_MS } from "./harness.ts";

const MODES: OffsetTsMode[] = ["exclusive", "inclusive"];
const WINDOWS = 4;

/** Puts a tie group of 40 (more than a page of 30) exactly on each boundary the plan will use, and 3 just before it. */
function tiesOnBoundaries(h: Harness): number[] {
  const all = h.sim.allConversations();
  const first = all[0]?.createdAt ?? 0;
  const last = all.at(-1)?.createdAt ?? 0;
  const bounds = splitRange(first, last, WINDOWS);
  for (const [b, at] of bounds.entries()) {
    for (let i = 0; i < 40; i++)
      h.sim.createConversation({ id: `edge${b}/${i}`, createdAt: at, participants: ["u1"] });
    for (let i = 0; i < 3; i++) h.sim.createConversation({ id: `before${b}/${i}`, createdAt: at - 1 });
  }
  return bounds;
}

async function checkpointWindows(store: Store, appId: string): Promise<BackfillWindow[]> {
  const state = await store.getSyncState(appId, BACKFILL_STREAM);
  return (JSON.parse(state?.cursor ?? "{}") as { windows: BackfillWindow[] }).windows;
}

describe("window plan", () => {
  it("cuts [first, last] into equal spans, open at both ends", () => {
    expect(splitRange(0, 100, 4)).toEqual([25, 50, 75]);
    expect(splitRange(0, 2, 8)).toEqual([1]); // never an empty or repeated boundary
    expect(splitRange(5, 5, 4)).toEqual([]);
    expect(windowsFor([25, 50]).map((w) => [w.from, w.until])).toEqual([
      [null, 25],
      [25, 50],
      [50, null],
    ]);
    expect(windowsFor([25])[1]?.pager).toEqual({ ts: 25, idsAtTs: [] });
  });
});

describe.each(PROVIDERS)("parallel backfill on %s", (provider) => {
  const skip = provider === "postgresql" && !postgresAvailable();
  let db: TestDatabase;
  let store: Store;
  const open: Harness[] = [];

  beforeAll(async () => {
    if (skip) return;
    db = await freshDatabase(provider);
    store = await openStore({ url: db.url, poolSize: 4 });
  });
  afterEach(async () => {
    await Promise.all(open.splice(0).map((h) => h.close()));
  });
  afterAll(async () => {
    if (skip) return;
    await store?.close();
    await db?.drop();
  });

  it.skipIf(skip).each(MODES)(
    "offsetTs %s: 4 windows with ties on every boundary list each conversation once and equal a sequential pass",
    async (mode) => {
      const h = await harness(store, mode, { conversations: 400 });
      open.push(h);
      const bounds = tiesOnBoundaries(h);
      expect(bounds).toHaveLength(WINDOWS - 1);
      const total = h.sim.allConversations().length;

      const parallel = await runBackfill(h.ctx, { clockSkewMs: SKEW_MS, concurrency: WINDOWS });
      expect(parallel.windows).toBe(WINDOWS);
      // Disjoint windows: every conversation fetched exactly once, none missed.
      expect(parallel.fetched).toBe(total);
      expect(parallel.inserted).toBe(total);
      await expectMirrorEquals(h, store, { deletedMustBeMarked: true });
      // Every window started at its boundary: the simulator was asked from b - 1 for each b.
      const offsets = new Set(h.sim.requestLog.map((r) => r.query.offsetTs));
      for (const b of bounds) expect(offsets).toContain(String(b - 1));
      const pass = await store.getSyncState(h.appId, BACKFILL_STREAM);
      expect(pass?.cursor).toBeNull();
      expect(pass?.watermark).not.toBeNull();

      // A sequential pass over the same app finds nothing to add or change.
      const sequential = await runBackfill(h.ctx, { clockSkewMs: SKEW_MS, restart: true });
      expect(sequential.windows).toBe(1);
      expect(sequential).toMatchObject({ fetched: total, inserted: 0, updated: 0, unchanged: total });
    },
  );

  it.skipIf(skip).each(MODES)(
    "offsetTs %s: a crash mid-pass resumes every window from its own checkpoint",
    async (mode) => {
      const h = await harness(store, mode, {
        conversations: 600,
        client: { retry: { maxAttempts: 2, minDelayMs: 1, maxDelayMs: 5 } },
      });
      open.push(h);
      tiesOnBoundaries(h);
      const total = h.sim.allConversations().length;
      // From the 16th request on (2 probes + ~3 pages per window), every listing request fails.
      h.sim.onRequest((n) => {
        if (n === 16)
          h.sim.addFault({ fault: { kind: "status", status: 500 }, probability: 1, times: 10_000 });
      });
      const error = await runBackfill(h.ctx, { clockSkewMs: SKEW_MS, concurrency: WINDOWS }).then(
        () => null,
        (e: Error & { code?: string }) => e,
      );
      h.sim.onRequest(null);
      h.sim.clearFaults();
      expect(error?.code).toBe("TALKJS_HTTP_500");

      const rows = await mirrorRows(store, h.appId);
      const saved = await checkpointWindows(store, h.appId);
      expect(saved).toHaveLength(WINDOWS);
      const started = windowsFor(saved.slice(1).map((w) => w.from as number));
      const progressed = saved.filter(
        (w, i) => w.done || JSON.stringify(w.pager) !== JSON.stringify(started[i]?.pager),
      );
      // The crash hit a pass in which several windows had committed pages, and not all were done.
      expect(progressed.length).toBeGreaterThanOrEqual(2);
      expect(saved.some((w) => !w.done)).toBe(true);
      expect(rows.size).toBeGreaterThan(0);
      expect(rows.size).toBeLessThan(total);

      const resumed = await runBackfill(h.ctx, { clockSkewMs: SKEW_MS, concurrency: 1 });
      expect(resumed.resumed).toBe(true);
      // The pass keeps its windows, and no window started over: only what was missing is fetched.
      expect(resumed.windows).toBe(WINDOWS);
      expect(resumed.fetched).toBe(total - rows.size);
      expect(resumed.inserted).toBe(total - rows.size);
      await expectMirrorEquals(h, store, { deletedMustBeMarked: true });
      expect((await store.getSyncState(h.appId, BACKFILL_STREAM))?.cursor).toBeNull();
    },
  );

  it.skipIf(skip)("resumes a checkpoint written before windows existed", async () => {
    const h = await harness(store, "exclusive", { conversations: 100 });
    open.push(h);
    const total = h.sim.allConversations().length;
    await store.saveSyncState(h.appId, BACKFILL_STREAM, {
      cursor: JSON.stringify({ pager: { ts: null, idsAtTs: [] }, passStartedAt: Date.now() }),
    });
    const resumed = await runBackfill(h.ctx, { clockSkewMs: SKEW_MS, concurrency: 4 });
    expect(resumed).toMatchObject({ resumed: true, windows: 1, inserted: total });
    await expectMirrorEquals(h, store, { deletedMustBeMarked: true });
  });
});
