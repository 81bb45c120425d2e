// The /metrics database gauges come from the maintained totals (no table count), and a scrape
// that cannot read the database is logged and reported as database_up 0.

import { describe, expect, it } from "vitest";
import type { MirrorTotals } from "../../src/store/store.ts";
import type { ClientStats } from "../../src/talkjs/http.ts";
import { createMetrics } from "../../src/worker/metrics.ts";

const httpStats = (): ClientStats => ({
  requests: 0,
  retries: 0,
  rateLimited: 0,
  pausedMs: 0,
  currentRate: 8,
  byStatus: {},
});

describe("metrics from maintained totals", () => {
  it("reports the totals and the lag from the newest activity", async () => {
    const totals: MirrorTotals = {
      conversationsLive: 12,
      conversationsDeleted: 3,
      messagesLive: 40,
      messagesDeleted: 2,
      newestActivityAt: new Date(1_000_000),
    };
    let reads = 0;
    const metrics = createMetrics({
      httpStats,
      totals: async () => {
        reads++;
        return totals;
      },
      now: () => 1_060_000,
    });
    const text = await metrics.registry.metrics();
    expect(text).toContain('talkjs_mirror_mirrored_conversations{state="live"} 12');
    expect(text).toContain('talkjs_mirror_mirrored_conversations{state="deleted"} 3');
    expect(text).toContain('talkjs_mirror_mirrored_messages{state="live"} 40');
    expect(text).toContain("talkjs_mirror_lag_seconds 60");
    expect(text).toContain("talkjs_mirror_database_up 1");
    expect(reads).toBe(1); // one read per scrape feeds every gauge
  });

  it("counts runs aborted by a lost lock", async () => {
    const metrics = createMetrics({ httpStats, totals: async () => null });
    metrics.lockLost("sync");
    const text = await metrics.registry.metrics();
    expect(text).toContain('talkjs_mirror_lock_lost_total{kind="sync"} 1');
    expect(text).toContain("talkjs_mirror_database_up 1"); // no totals yet is not a database failure
  });

  it("a scrape error is logged and database_up is 0", async () => {
    const errors: unknown[] = [];
    const metrics = createMetrics({
      httpStats,
      totals: async () => {
        throw new Error("database is locked");
      },
      onScrapeError: (e) => errors.push(e),
    });
    const text = await metrics.registry.metrics();
    expect(text).toContain("talkjs_mirror_database_up 0");
    expect(String(errors[0])).toMatch(/database is locked/);
  });

  it("restore runs, messages and files come from restore_totals (restores run in their own process)", async () => {
    let t = { runsSucceeded: 2, runsFailed: 1, messagesRestored: 120, filesRestored: 7 };
    const metrics = createMetrics({ httpStats, totals: async () => null, restores: async () => t });
    let text = await metrics.registry.metrics();
    expect(text).toContain('talkjs_mirror_restore_runs_total{outcome="succeeded"} 2');
    expect(text).toContain('talkjs_mirror_restore_runs_total{outcome="failed"} 1');
    expect(text).toContain("talkjs_mirror_restored_messages_total 120");
    expect(text).toContain("talkjs_mirror_restored_files_total 7");
    // another process restored meanwhile: the next scrape shows the new totals
    t = { runsSucceeded: 3, runsFailed: 1, messagesRestored: 150, filesRestored: 9 };
    await new Promise((resolve) => setImmediate(resolve)); // one scrape's read is shared, not the next's
    text = await metrics.registry.metrics();
    expect(text).toContain('talkjs_mirror_restore_runs_total{outcome="succeeded"} 3');
    expect(text).toContain("talkjs_mirror_restored_messages_total 150");
    expect(text).toContain("talkjs_mirror_restored_files_total 9");
  });
});
