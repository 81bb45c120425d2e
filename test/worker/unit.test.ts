// The worker's decisions without a network or a database: which ticks run, wait or are skipped;
// when /readyz says ready; how bad schedule settings are reported.
import { describe, expect, it } from "vitest";
import { loadWorkerSettings, WORKER_DEFAULTS } from "../../src/config/worker.ts";
import { ConfigError } from "../../src/errors.ts";
import { type JobKind, JobRunner, type SkipReason } from "../../src/worker/jobs.ts";
import { decideReadiness } from "../../src/worker/readiness.ts";

/** A job runner whose jobs finish only when the test says so. */
function controlledRunner() {
  const started: JobKind[] = [];
  const skipped: [JobKind, SkipReason][] = [];
  const finishers: (() => void)[] = [];
  let active = 0;
  let maxActive = 0;
  const runner = new JobRunner(
    (kind) =>
      new Promise<void>((resolve, reject) => {
        started.push(kind);
        active += 1;
        maxActive = Math.max(maxActive, active);
        finishers.push(() => {
          active -= 1;
          // A failing job must not stop the queue: every other one rejects.
          if (started.length % 2 === 0) reject(new Error("job failed"));
          else resolve();
        });
      }),
    (kind, reason) => skipped.push([kind, reason]),
  );
  const finishCurrent = async (): Promise<void> => {
    finishers.shift()?.();
    // Let the runner's promise chain start the next job.
    for (let i = 0; i < 5; i++) await Promise.resolve();
  };
  return { runner, started, skipped, finishCurrent, maxActive: () => maxActive };
}

describe("JobRunner", () => {
  it("runs one job at a time; a tick for a running or waiting job is skipped, another job waits its turn", async () => {
    const t = controlledRunner();
    expect(t.runner.request("backfill")).toBe("started");
    expect(t.runner.request("sync")).toBe("queued");
    expect(t.runner.request("sync")).toEqual({ skipped: "overlap" });
    expect(t.runner.request("backfill")).toEqual({ skipped: "overlap" });
    expect(t.runner.request("reconcile")).toBe("queued");
    expect(t.runner.running).toBe("backfill");
    expect(t.runner.queued).toEqual(["sync", "reconcile"]);

    await t.finishCurrent();
    expect(t.runner.running).toBe("sync");
    await t.finishCurrent(); // this one rejects: the queue goes on
    expect(t.runner.running).toBe("reconcile");
    await t.finishCurrent();
    expect(t.runner.running).toBeNull();

    expect(t.started).toEqual(["backfill", "sync", "reconcile"]);
    expect(t.skipped).toEqual([
      ["sync", "overlap"],
      ["backfill", "overlap"],
    ]);
    expect(t.maxActive()).toBe(1);
    expect(t.runner.request("sync")).toBe("started");
  });

  it("close() drops waiting jobs, refuses new ones, and idle() waits for the running one", async () => {
    const t = controlledRunner();
    t.runner.request("sync");
    t.runner.request("reconcile");
    t.runner.close();
    expect(t.runner.queued).toEqual([]);
    expect(t.runner.request("sync")).toEqual({ skipped: "shutting-down" });
    let idle = false;
    const waiting = t.runner.idle().then(() => {
      idle = true;
    });
    await Promise.resolve();
    expect(idle).toBe(false);
    await t.finishCurrent();
    await waiting;
    expect(idle).toBe(true);
    expect(t.started).toEqual(["sync"]);
  });
});

describe("decideReadiness", () => {
  const base = {
    now: 1_000_000,
    maxStalenessMs: 60_000,
    database: { ok: true } as const,
    backfillComplete: true,
    lastSuccessAt: 990_000,
    consecutiveFailures: { sync: 0 },
  };

  it("is ready after a recent successful sync", () => {
    const r = decideReadiness(base);
    expect(r.ready).toBe(true);
    expect(r.reasons).toEqual([]);
    expect(r.checks.stalenessMs).toBe(10_000);
  });

  it("explains each way it is not ready", () => {
    expect(decideReadiness({ ...base, database: { ok: false, error: "DB_UNREACHABLE" } }).reasons).toEqual([
      "the database check failed (DB_UNREACHABLE); see the log",
    ]);
    expect(decideReadiness({ ...base, backfillComplete: false }).reasons).toEqual([
      "the initial backfill has not completed yet",
    ]);
    expect(decideReadiness({ ...base, lastSuccessAt: null }).reasons).toEqual(["no sync has succeeded yet"]);
    const stale = decideReadiness({
      ...base,
      lastSuccessAt: base.now - 61_000,
      consecutiveFailures: { sync: 3 },
    });
    expect(stale.ready).toBe(false);
    expect(stale.reasons[0]).toMatch(/61 s ago, more than the allowed 60 s/);
    expect(stale.consecutiveFailures).toEqual({ sync: 3 });
  });

  it("allows exactly the configured staleness", () => {
    expect(decideReadiness({ ...base, lastSuccessAt: base.now - 60_000 }).ready).toBe(true);
  });
});

describe("loadWorkerSettings", () => {
  it("applies the documented defaults", () => {
    expect(loadWorkerSettings({})).toEqual({ ...WORKER_DEFAULTS });
  });

  it("accepts five- and six-field cron expressions and IANA time zones", () => {
    const s = loadWorkerSettings({
      SYNC_CRON: "*/5 * * * * *",
      RECONCILE_CRON: "30 2 * * 0",
      CRON_TIMEZONE: "Europe/Berlin",
      METRICS_PORT: "0",
    });
    expect(s).toMatchObject({
      syncCron: "*/5 * * * * *",
      reconcileCron: "30 2 * * 0",
      timezone: "Europe/Berlin",
    });
    expect(s.metricsPort).toBe(0);
  });

  it.each([
    [{ SYNC_CRON: "every minute" }, "SYNC_CRON", /not a valid cron expression/],
    [{ RECONCILE_CRON: "61 * * * *" }, "RECONCILE_CRON", /61 is a invalid expression for minute/],
    [{ CRON_TIMEZONE: "Mars/Olympus" }, "CRON_TIMEZONE", /not a known time zone/],
    [{ METRICS_PORT: "70000" }, "METRICS_PORT", /out of range/],
    [{ SHUTDOWN_GRACE_MS: "soon" }, "SHUTDOWN_GRACE_MS", /not a whole number/],
  ])("names the setting and the fix for %o", (env, setting, message) => {
    let error: unknown;
    try {
      loadWorkerSettings(env);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).setting).toBe(setting);
    expect((error as ConfigError).message).toMatch(message);
  });
});
