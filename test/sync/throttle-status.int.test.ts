// A run's throttling is recorded on its sync_runs row (429s met, time paused, rate it ended at) and
// `status` shows it from the database alone; a run TalkJS never throttled shows nothing extra.
// Against the simulator over real HTTP, on SQLite and PostgreSQL, in scaled time (Retry-After 30 ms).
import { beforeAll, describe, expect, it } from "vitest";
import { formatStatus } from "../../src/cli/format.ts";
import type { SyncSettings } from "../../src/config/index.ts";
import type { Store } from "../../src/store/store.ts";
import { runMirrorJob } from "../../src/sync/jobs.ts";
import { readStatus } from "../../src/sync/status.ts";
import { PROVIDERS, useStore } from "../helpers/db.ts";
import { SKEW_MS, useHarnesses } from "./harness.ts";

const settings: SyncSettings = {
  clockSkewMs: SKEW_MS,
  maxDeleteShare: 0.5,
  mirrorMessages: false,
  messageConcurrency: 2,
  backfillConcurrency: 2,
};

describe.each(PROVIDERS)("run throttling in sync_runs and status on %s", (provider) => {
  const fixture = useStore(provider);
  const { skip } = fixture;
  let store: Store;
  beforeAll(() => {
    if (!skip) store = fixture.store;
  });
  const open = useHarnesses(fixture);

  it.skipIf(skip)(
    "a sync that met three 429s records them and status shows them; a clean backfill shows none",
    async () => {
      const h = await open("exclusive", { conversations: 40, burst: 0 });
      await runMirrorJob(h.ctx, "backfill", { settings });
      expect(h.client.stats.rateLimited).toBe(0);

      const before = h.client.stats.rateLimited;
      h.sim.addFault({
        fault: { kind: "status", status: 429, retryAfter: "0.03" },
        probability: 1,
        times: 3,
        match: { pathRegex: /./ },
      });
      h.sim.createConversation({ id: "after-backfill", participants: ["u1"] });
      await runMirrorJob(h.ctx, "sync", { settings });
      const met = h.client.stats.rateLimited - before;
      expect(met).toBe(3);
      expect(h.sim.throttleLog.length).toBe(3);

      const backfillRun = await store.lastRunOfKind(h.appId, "backfill");
      expect(backfillRun).toMatchObject({ status: "succeeded", rateLimited: 0, pausedMs: 0 });
      const syncRun = await store.lastRunOfKind(h.appId, "sync");
      expect(syncRun?.status).toBe("succeeded");
      expect(syncRun?.rateLimited).toBe(met);
      expect(syncRun?.pausedMs).toBeGreaterThan(0);
      expect(syncRun?.endRate).toBeCloseTo(h.client.stats.currentRate, 6);

      // `status --json` is the MirrorStatus object; the text is formatStatus of it.
      const status = await readStatus(store, h.appId);
      expect(status.lastRuns.sync).toMatchObject({ rateLimited: 3, pausedMs: syncRun?.pausedMs });
      expect(status.lastRuns.backfill).toMatchObject({ rateLimited: 0, pausedMs: 0 });
      const lines = formatStatus(status).split("\n");
      const syncLine = lines.find((l) => l.trimStart().startsWith("sync "));
      const backfillLine = lines.find((l) => l.trimStart().startsWith("backfill ") && l.includes("#"));
      expect(syncLine).toMatch(/, 3 × 429, paused \d+:\d\d, ended at [\d.,]+ requests\/s/);
      expect(backfillLine).toBeDefined();
      // Match the throttling phrase, not the digits: the line's timestamp can hold "429" too
      // (14:31:59.429Z failed CI once).
      expect(backfillLine).not.toMatch(/× 429/);
      expect(backfillLine).not.toMatch(/paused \d/);
    },
  );
  it.skipIf(skip)("a run that fails after meeting 429s records them too", async () => {
    const h = await open("exclusive", { conversations: 10, burst: 0 });
    const all = { pathRegex: /./ };
    h.sim.addFault({
      fault: { kind: "status", status: 429, retryAfter: "0.02" },
      probability: 1,
      times: 2,
      match: all,
    });
    h.sim.addFault({ fault: { kind: "status", status: 403 }, probability: 1, match: all });
    await expect(runMirrorJob(h.ctx, "backfill", { settings })).rejects.toThrow();
    const run = await store.lastRunOfKind(h.appId, "backfill");
    expect(run?.status).toBe("failed");
    expect(run?.rateLimited).toBe(2);
    expect(h.client.stats.rateLimited).toBe(2);
    expect(run?.pausedMs).toBeGreaterThan(0);
    expect(formatStatus(await readStatus(store, h.appId))).toMatch(
      /backfill +#\d+ failed .*, 2 × 429, paused /,
    );
  });
});
