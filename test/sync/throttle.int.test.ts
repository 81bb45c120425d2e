// Throttling against the simulator over real HTTP, on SQLite and PostgreSQL, in scaled time
// (Retry-After of tens of ms): a backfill with messages under 10% 429s (app-wide holds), 5% 503s
// and 2% resets ends exact, never sends into a Retry-After window it knew about, and against a
// plain server-side limit far below the client's ceiling the governor adapts until 429s are rare.
import { beforeAll, describe, expect, it } from "vitest";
import type { SyncSettings } from "../../src/config/index.ts";
import type { Simulator } from "../../src/simulator/types.ts";
import type { Store } from "../../src/store/store.ts";
import { runMirrorJob } from "../../src/sync/jobs.ts";
import { PROVIDERS, useStore } from "../helpers/db.ts";
import { expectMessagesEqual, expectMirrorEquals, SKEW_MS, useHarnesses } from "./harness.ts";

const settings = (concurrency: number): SyncSettings => ({
  clockSkewMs: SKEW_MS,
  maxDeleteShare: 0.5,
  mirrorMessages: true,
  messageConcurrency: concurrency,
  backfillConcurrency: concurrency,
});

/**
 * Requests that arrived inside a Retry-After window, per window opened by a 429 (an injected one
 * or the limit's): a client may have had at most `inFlight - 1` others on the wire when the 429
 * was sent, and must send nothing new until the window has passed.
 */
function arrivalsInsideWindows(sim: Simulator): number[] {
  return sim.throttleLog
    .filter((w) => (w.reason === "fault" || w.reason === "limit") && w.until > w.at)
    .map((w) => sim.requestLog.filter((r) => r.receivedAt > w.at && r.receivedAt < w.until).length);
}

describe.each(PROVIDERS)("throttling on %s", (provider) => {
  const fixture = useStore(provider, { poolSize: 4 });
  const { skip } = fixture;
  let store: Store;
  beforeAll(() => {
    if (!skip) store = fixture.store;
  });
  const open = useHarnesses(fixture);

  it.skipIf(skip).each([1, 8])(
    "fault mix (10 percent 429 with Retry-After, 5 percent 503, 2 percent resets) at concurrency %i: ok, exact, no request inside a window",
    async (concurrency) => {
      const h = await open("exclusive", {
        conversations: 60,
        burst: 10,
        client: {
          maxConcurrency: concurrency,
          connections: concurrency,
          // 7% of attempts fail for real: 8 attempts make a request failing all of them ~1e-9.
          retry: { minDelayMs: 1, maxDelayMs: 20, maxAttempts: 8 },
        },
      });
      const all = { pathRegex: /./ };
      h.sim.addFault({
        fault: { kind: "status", status: 429, retryAfter: "0.03" },
        probability: 0.1,
        match: all,
      });
      h.sim.addFault({ fault: { kind: "status", status: 503 }, probability: 0.05, match: all });
      h.sim.addFault({ fault: { kind: "reset" }, probability: 0.02, match: all });
      const summary = await runMirrorJob(h.ctx, "backfill", { settings: settings(concurrency) });
      expect(summary.messages?.conversations).toBeGreaterThan(0);
      await expectMirrorEquals(h, store, { deletedMustBeMarked: true });
      expect(await expectMessagesEqual(h, store)).toBeGreaterThan(100);
      const opened = h.sim.throttleLog.filter((w) => w.reason === "fault");
      expect(opened.length).toBeGreaterThan(5);
      const inside = arrivalsInsideWindows(h.sim);
      expect(Math.max(...inside)).toBeLessThanOrEqual(concurrency - 1);
      expect(h.client.stats.rateLimited).toBe(h.sim.throttleLog.length);
    },
  );

  it.skipIf(skip)(
    "a server-side limit far below the client's ceiling at concurrency 8: exact, and 429s ≤ 5% once adapted",
    async () => {
      const h = await open("exclusive", {
        conversations: 300,
        burst: 0,
        // Far below what the mirror can write (hundreds of pages/s on either database), so it always bites.
        sim: { rateLimit: { perSecond: 30, burst: 10, retryAfterSeconds: 0.1 } },
        client: {
          maxConcurrency: 8,
          connections: 8,
          rateLimit: { perSecond: 5_000, burst: 100 },
          retry: { minDelayMs: 1, maxDelayMs: 20, maxAttempts: 6 },
        },
      });
      await runMirrorJob(h.ctx, "backfill", { settings: settings(8) });
      await expectMirrorEquals(h, store, { deletedMustBeMarked: true });
      await expectMessagesEqual(h, store);
      const log = h.sim.requestLog;
      const adapted = log.slice(Math.floor(log.length / 2));
      const share = adapted.filter((r) => r.status === 429).length / adapted.length;
      expect(log.length).toBeGreaterThan(200);
      expect(h.sim.throttleLog.length).toBeGreaterThan(0); // the limit did bite
      expect(share).toBeLessThanOrEqual(0.05);
      expect(h.client.stats.currentRate).toBeLessThan(5_000);
      expect(Math.max(...arrivalsInsideWindows(h.sim))).toBeLessThanOrEqual(7);
    },
  );
});
