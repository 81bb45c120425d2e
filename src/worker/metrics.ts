// Prometheus metrics for the worker (prom-client, one registry per worker so tests can run
// several in one process). Counters for what this process did; gauges read at scrape time from
// the database, so every replica reports the same mirror totals and lag.
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client";
import { RUN_COUNT_KEYS } from "../counts.ts";
import type { RunOutcome } from "../sync/run.ts";
import type { MirrorStatus } from "../sync/status.ts";
import type { ClientStats } from "../talkjs/http.ts";
import type { JobKind, SkipReason } from "./jobs.ts";

const PREFIX = "talkjs_mirror_";

export interface WorkerMetrics {
  registry: Registry;
  observeRun(outcome: RunOutcome): void;
  jobSkipped(kind: JobKind, reason: SkipReason | "locked"): void;
  setConsecutiveFailures(kind: JobKind, count: number): void;
}

export interface MetricsSources {
  /** The TalkJS client's cumulative request counters. */
  httpStats: () => ClientStats;
  /** Mirror totals and lag, from the database (called on each scrape). */
  status: () => Promise<MirrorStatus>;
}

export function createMetrics(sources: MetricsSources): WorkerMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const registers = [registry];

  const runs = new Counter({
    name: `${PREFIX}runs_total`,
    help: "Runs by kind (backfill, sync, reconcile) and outcome (succeeded, failed, aborted).",
    labelNames: ["kind", "outcome"],
    registers,
  });
  const duration = new Histogram({
    name: `${PREFIX}run_duration_seconds`,
    help: "Duration of runs by kind and outcome.",
    labelNames: ["kind", "outcome"],
    buckets: [0.1, 0.5, 1, 5, 15, 60, 300, 900, 3_600, 14_400],
    registers,
  });
  const conversations = new Counter({
    name: `${PREFIX}conversations_total`,
    help: "Conversations processed by runs, by kind and result (fetched, inserted, updated, unchanged, marked_deleted).",
    labelNames: ["kind", "result"],
    registers,
  });
  const skipped = new Counter({
    name: `${PREFIX}job_skipped_total`,
    help: "Scheduled ticks skipped: overlap (the job was still running or waiting), locked (another process holds the app's run lock), shutting-down.",
    labelNames: ["kind", "reason"],
    registers,
  });
  const failures = new Gauge({
    name: `${PREFIX}consecutive_failures`,
    help: "Consecutive failed runs of each job in this process (0 after a success).",
    labelNames: ["kind"],
    registers,
  });
  for (const kind of ["backfill", "sync", "reconcile"] as const) failures.set({ kind }, 0);

  // The client counts cumulatively; counters advance by what changed since the last scrape.
  const seen = { retries: 0, rateLimited: 0, byStatus: {} as Record<string, number> };
  new Counter({
    name: `${PREFIX}http_requests_total`,
    help: "Requests to the TalkJS API by HTTP status (0: no answer — connection reset or timeout).",
    labelNames: ["status"],
    registers,
    collect() {
      for (const [status, count] of Object.entries(sources.httpStats().byStatus)) {
        const delta = count - (seen.byStatus[status] ?? 0);
        if (delta > 0) this.inc({ status }, delta);
        seen.byStatus[status] = count;
      }
    },
  });
  new Counter({
    name: `${PREFIX}http_retries_total`,
    help: "Requests to the TalkJS API that were retried.",
    registers,
    collect() {
      const now = sources.httpStats().retries;
      if (now > seen.retries) this.inc(now - seen.retries);
      seen.retries = now;
    },
  });
  new Counter({
    name: `${PREFIX}http_rate_limited_total`,
    help: "HTTP 429 answers from the TalkJS API.",
    registers,
    collect() {
      const now = sources.httpStats().rateLimited;
      if (now > seen.rateLimited) this.inc(now - seen.rateLimited);
      seen.rateLimited = now;
    },
  });

  let pausedSeen = 0;
  new Counter({
    name: `${PREFIX}http_paused_seconds_total`,
    help: "Time every request to the TalkJS API was held by 429 pauses (Retry-After), in seconds.",
    registers,
    collect() {
      const now = sources.httpStats().pausedMs;
      if (now > pausedSeen) this.inc((now - pausedSeen) / 1000);
      pausedSeen = now;
    },
  });
  new Gauge({
    name: `${PREFIX}http_request_rate`,
    help: "Requests per second the TalkJS client paces at now: the configured ceiling, cut by 429s and raised again by success.",
    registers,
    collect() {
      this.set(sources.httpStats().currentRate);
    },
  });

  // One status read per scrape feeds every database gauge.
  let pending: Promise<MirrorStatus | null> | null = null;
  const status = (): Promise<MirrorStatus | null> => {
    pending ??= sources
      .status()
      .catch(() => null)
      .finally(() => {
        setImmediate(() => {
          pending = null;
        });
      });
    return pending;
  };
  new Gauge({
    name: `${PREFIX}lag_seconds`,
    help: "Now minus the newest last activity in the mirror (how far behind TalkJS the copy may be).",
    registers,
    async collect() {
      const s = await status();
      if (s?.lagMs != null) this.set(s.lagMs / 1000);
    },
  });
  new Gauge({
    name: `${PREFIX}mirrored_conversations`,
    help: "Conversations in the mirror: live, and deleted at TalkJS (kept with deleted_at).",
    labelNames: ["state"],
    registers,
    async collect() {
      const s = await status();
      if (!s) return;
      this.set({ state: "live" }, s.live);
      this.set({ state: "deleted" }, s.deleted);
    },
  });
  new Gauge({
    name: `${PREFIX}database_up`,
    help: "1 when the last scrape could read the database, else 0.",
    registers,
    async collect() {
      this.set((await status()) ? 1 : 0);
    },
  });

  return {
    registry,
    observeRun(outcome) {
      const { kind, status: outcomeLabel } = outcome;
      runs.inc({ kind, outcome: outcomeLabel });
      duration.observe({ kind, outcome: outcomeLabel }, outcome.durationMs / 1000);
      for (const key of RUN_COUNT_KEYS) {
        // Pages are not conversations; the other counters are, labelled in snake_case.
        if (key === "pages" || outcome[key] <= 0) continue;
        conversations.inc({ kind, result: snakeCase(key) }, outcome[key]);
      }
    },
    jobSkipped(kind, reason) {
      skipped.inc({ kind, reason });
    },
    setConsecutiveFailures(kind, count) {
      failures.set({ kind }, count);
    },
  };
}

/** markedDeleted → marked_deleted: Prometheus label values are snake_case. */
function snakeCase(name: string): string {
  return name.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
}
