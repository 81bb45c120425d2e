// Prometheus metrics for the worker (prom-client, one registry per worker so tests can run
// several in one process). Counters for what this process did; gauges read at scrape time from
// the database, so every replica reports the same mirror totals and lag — from the totals the
// writes maintain (mirror_totals, one row) and one index seek, never a table count.
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client";
import { RUN_COUNT_KEYS } from "../counts.ts";
import type { RestoreTotals } from "../store/restore.ts";
import type { MirrorTotals } from "../store/store.ts";
import type { RunOutcome } from "../sync/run.ts";
import type { ClientStats } from "../talkjs/http.ts";
import type { JobKind, SkipReason } from "./jobs.ts";

const PREFIX = "talkjs_mirror_";

export interface WorkerMetrics {
  registry: Registry;
  observeRun(outcome: RunOutcome): void;
  jobSkipped(kind: JobKind, reason: SkipReason | "locked"): void;
  setConsecutiveFailures(kind: JobKind, count: number): void;
  /** A run stopped because its run lock was lost (another replica may have taken it). */
  lockLost(kind: JobKind): void;
}

export interface MetricsSources {
  /** The TalkJS client's cumulative request counters. */
  httpStats: () => ClientStats;
  /** Mirror totals and newest activity, from the database in O(1) (called on each scrape). */
  totals: () => Promise<MirrorTotals | null>;
  /**
   * Restores from this app's mirror (restore_totals, one row): a restore is its own CLI process,
   * so the worker reads them from the database on each scrape. Absent: no restore metrics.
   */
  restores?: () => Promise<RestoreTotals | null>;
  /** A scrape that could not read the database is logged here (the gauge says database_up 0). */
  onScrapeError?: (error: unknown) => void;
  now?: () => number;
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
  const lockLost = new Counter({
    name: `${PREFIX}lock_lost_total`,
    help: "Runs aborted because their run lock was lost (the PostgreSQL lock session died).",
    labelNames: ["kind"],
    registers,
  });

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

  // One totals read per scrape feeds every database gauge. A mirror not counted yet (no run since
  // the upgrade) has no totals: its gauges are absent, the database is still up.
  let pending: Promise<{ totals: MirrorTotals | null } | null> | null = null;
  const status = (): Promise<{ totals: MirrorTotals | null } | null> => {
    pending ??= sources
      .totals()
      .then((totals) => ({ totals }))
      .catch((error: unknown) => {
        sources.onScrapeError?.(error);
        return null;
      })
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
      const newest = (await status())?.totals?.newestActivityAt;
      if (newest) this.set(((sources.now ?? Date.now)() - newest.getTime()) / 1000);
    },
  });
  new Gauge({
    name: `${PREFIX}mirrored_conversations`,
    help: "Conversations in the mirror: live, and deleted at TalkJS (kept with deleted_at).",
    labelNames: ["state"],
    registers,
    async collect() {
      const t = (await status())?.totals;
      if (!t) return;
      this.set({ state: "live" }, t.conversationsLive);
      this.set({ state: "deleted" }, t.conversationsDeleted);
    },
  });
  new Gauge({
    name: `${PREFIX}mirrored_messages`,
    help: "Messages in the mirror: live, and deleted at TalkJS (kept with deleted_at).",
    labelNames: ["state"],
    registers,
    async collect() {
      const t = (await status())?.totals;
      if (!t) return;
      this.set({ state: "live" }, t.messagesLive);
      this.set({ state: "deleted" }, t.messagesDeleted);
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

  // Restores run in their own processes: their counters live in the database and advance here by
  // what changed since the last scrape (a new worker reports the whole total at its first scrape).
  let restoreRead: Promise<RestoreTotals | null> | null = null;
  const restores = (): Promise<RestoreTotals | null> => {
    if (!sources.restores) return Promise.resolve(null);
    restoreRead ??= sources
      .restores()
      .catch((error: unknown) => {
        sources.onScrapeError?.(error);
        return null;
      })
      .finally(() => {
        setImmediate(() => {
          restoreRead = null;
        });
      });
    return restoreRead;
  };
  const restoreSeen = { succeeded: 0, failed: 0, messages: 0, files: 0 };
  const advance = (counter: Counter, key: keyof typeof restoreSeen, now: number, labels?: object) => {
    if (now > restoreSeen[key]) {
      if (labels) counter.inc(labels as Record<string, string>, now - restoreSeen[key]);
      else counter.inc(now - restoreSeen[key]);
    }
    restoreSeen[key] = Math.max(restoreSeen[key], now);
  };
  new Counter({
    name: `${PREFIX}restore_runs_total`,
    help: "Restore runs from this mirror (any process, from restore_totals) by outcome: succeeded, failed.",
    labelNames: ["outcome"],
    registers,
    async collect() {
      const t = await restores();
      if (!t) return;
      advance(this, "succeeded", t.runsSucceeded, { outcome: "succeeded" });
      advance(this, "failed", t.runsFailed, { outcome: "failed" });
    },
  });
  new Counter({
    name: `${PREFIX}restored_messages_total`,
    help: "Messages restores imported into a TalkJS app (recorded applied in restore_ledger).",
    registers,
    async collect() {
      const t = await restores();
      if (t) advance(this, "messages", t.messagesRestored);
    },
  });
  new Counter({
    name: `${PREFIX}restored_files_total`,
    help: "Archived files restores uploaded to a TalkJS app (once per target, content and name).",
    registers,
    async collect() {
      const t = await restores();
      if (t) advance(this, "files", t.filesRestored);
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
    lockLost(kind) {
      lockLost.inc({ kind });
    },
  };
}

/** markedDeleted → marked_deleted: Prometheus label values are snake_case. */
function snakeCase(name: string): string {
  return name.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
}
