// The pipelined backfill against the simulator on real databases: when the fetch of the next page
// fails WHILE the current page is being written, the current page still commits with its
// checkpoint, nothing after it is in the mirror, and a re-run resumes right after it.
import { beforeAll, describe, expect, it } from "vitest";
import type { OffsetTsMode } from "../../src/simulator/types.ts";
import type { Store, UpsertOptions } from "../../src/store/store.ts";
import { runBackfill } from "../../src/sync/backfill.ts";
import { BACKFILL_STREAM } from "../../src/sync/streams.ts";
import { PROVIDERS, useStore } from "../helpers/db.ts";
import { expectMirrorEquals, mirrorRows, SKEW_MS, useHarnesses } from "./harness.ts";

const MODES: OffsetTsMode[] = ["exclusive", "inclusive"];

/** The real store, except that the first page write waits for `hold()` before it starts. */
function holdingStore(store: Store, hold: () => Promise<void>) {
  const checkpoints: (string | null)[] = [];
  let writes = 0;
  const proxy = new Proxy(store, {
    get(target, prop) {
      if (prop === "upsertConversations") {
        return async (...args: Parameters<Store["upsertConversations"]>) => {
          const opts: UpsertOptions = args[2];
          if (++writes === 1) await hold();
          const counts = await target.upsertConversations(...args);
          checkpoints.push(opts.checkpoint?.cursor ?? null);
          return counts;
        };
      }
      const value = Reflect.get(target, prop, target) as unknown;
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
  return { proxy, checkpoints };
}

describe.each(PROVIDERS)("pipelined backfill on %s", (provider) => {
  const fixture = useStore(provider, { poolSize: 4 });
  const { skip } = fixture;
  let store: Store;
  beforeAll(() => {
    if (!skip) store = fixture.store;
  });
  const open = useHarnesses(fixture);

  it.skipIf(skip).each(MODES)(
    "offsetTs %s: a later fetch fails during a write: fetched pages commit, the checkpoint follows them",
    async (mode) => {
      const h = await open(mode, {
        client: { retry: { maxAttempts: 2, minDelayMs: 1, maxDelayMs: 5 } },
      });
      // From the 5th listing request on, every request fails (both attempts).
      h.sim.onRequest((n) => {
        if (n === 5) h.sim.addFault({ fault: { kind: "status", status: 500 }, probability: 1, times: 1_000 });
      });
      const failures = () => h.client.stats.byStatus[500] ?? 0;
      let failedDuringWrite = 0;
      // The first write is held until the client has given up on a later page (bounded, so a
      // loop that does not fetch ahead fails the assertion below instead of hanging).
      const { proxy, checkpoints } = holdingStore(store, async () => {
        for (let i = 0; i < 2_500 && failures() < 2; i++) await new Promise((r) => setTimeout(r, 2));
        await new Promise((r) => setTimeout(r, 20));
        failedDuringWrite = failures();
      });
      const error = await runBackfill({ ...h.ctx, store: proxy }, { clockSkewMs: SKEW_MS }).then(
        () => null,
        (e: Error & { code?: string }) => e,
      );
      h.sim.onRequest(null);
      h.sim.clearFaults();
      expect(error?.code).toBe("TALKJS_HTTP_500");
      expect(failedDuringWrite).toBe(2);
      // Every page fetched before the failure was committed after it, with its checkpoint.
      const [failed] = await store.lastRuns(h.appId, 1);
      expect(failed).toMatchObject({ kind: "backfill", status: "failed" });
      expect(failed?.pages).toBeGreaterThanOrEqual(2);
      const rows = await mirrorRows(store, h.appId);
      expect(rows.size).toBe(failed?.fetched);
      const state = await store.getSyncState(h.appId, BACKFILL_STREAM);
      expect(state?.cursor).not.toBeNull();
      expect(state?.cursor).toBe(checkpoints.at(-1));

      const resumed = await runBackfill(h.ctx, { clockSkewMs: SKEW_MS });
      expect(resumed.resumed).toBe(true);
      expect(resumed.inserted).toBe(h.sim.allConversations().length - rows.size);
      await expectMirrorEquals(h, store, { deletedMustBeMarked: true });
    },
  );
});
