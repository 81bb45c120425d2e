// Settings only the long-running worker (`talkjs-mirror run`) reads: its schedule, its HTTP
// endpoint and its shutdown budget. Validated at start, so a typo in a cron expression stops the
// container at once with a message naming the setting instead of never running a job.
import { validateDetailed } from "node-cron";
import { ConfigError } from "../errors.ts";
import { type Env, readInteger, readString } from "./env.ts";
import type { WebhookSettings } from "./webhooks.ts";

export const WORKER_DEFAULTS = {
  syncCron: "* * * * *",
  reconcileCron: "0 3 * * *",
  filesCron: "*/5 * * * *",
  timezone: "UTC",
  metricsHost: "0.0.0.0",
  metricsPort: 9464,
  readyMaxStalenessMs: 600_000,
  shutdownGraceMs: 25_000,
  syncRunsRetentionDays: 90,
} as const;

export interface WorkerSettings {
  syncCron: string;
  reconcileCron: string;
  /** When the files job runs (downloads, retries of failed files). */
  filesCron: string;
  /** IANA time zone the cron expressions are read in. */
  timezone: string;
  metricsHost: string;
  /** 0 picks a free port (tests); the bound port is logged. */
  metricsPort: number;
  /** /readyz fails when the last successful sync is older than this. */
  readyMaxStalenessMs: number;
  /** How long SIGTERM waits for the running job to stop before the process exits anyway. */
  shutdownGraceMs: number;
  /** sync_runs rows older than this many days are pruned (a kind's latest run never is). */
  syncRunsRetentionDays?: number;
  /** The webhook receiver (WEBHOOK_PORT); absent: off. Loaded by ./webhooks.ts. */
  webhooks?: WebhookSettings;
}

export function loadWorkerSettings(env: Env): WorkerSettings {
  return {
    syncCron: readCron(env, "SYNC_CRON", WORKER_DEFAULTS.syncCron),
    reconcileCron: readCron(env, "RECONCILE_CRON", WORKER_DEFAULTS.reconcileCron),
    filesCron: readCron(env, "FILES_CRON", WORKER_DEFAULTS.filesCron),
    timezone: readTimezone(env, "CRON_TIMEZONE", WORKER_DEFAULTS.timezone),
    metricsHost: readString(env, "METRICS_HOST") ?? WORKER_DEFAULTS.metricsHost,
    metricsPort: readInteger(env, "METRICS_PORT", WORKER_DEFAULTS.metricsPort, { min: 0, max: 65_535 }),
    readyMaxStalenessMs: readInteger(env, "READY_MAX_STALENESS_MS", WORKER_DEFAULTS.readyMaxStalenessMs, {
      min: 1_000,
    }),
    shutdownGraceMs: readInteger(env, "SHUTDOWN_GRACE_MS", WORKER_DEFAULTS.shutdownGraceMs, {
      min: 0,
      max: 3_600_000,
    }),
    syncRunsRetentionDays: readInteger(
      env,
      "SYNC_RUNS_RETENTION_DAYS",
      WORKER_DEFAULTS.syncRunsRetentionDays,
      {
        min: 1,
        max: 36_500,
      },
    ),
  };
}

function readCron(env: Env, name: string, fallback: string): string {
  const expression = readString(env, name) ?? fallback;
  const result = validateDetailed(expression);
  if (!result.valid) {
    const why = result.errors.map((e) => e.message).join("; ");
    throw new ConfigError(
      name,
      `"${expression}" is not a valid cron expression (${why}). Use five fields ` +
        `"minute hour day-of-month month day-of-week" (e.g. "*/5 * * * *"), or six with seconds first.`,
    );
  }
  return expression;
}

function readTimezone(env: Env, name: string, fallback: string): string {
  const zone = readString(env, name) ?? fallback;
  try {
    // Throws a RangeError for a zone the runtime's ICU does not know.
    new Intl.DateTimeFormat("en-US", { timeZone: zone });
  } catch {
    throw new ConfigError(
      name,
      `"${zone}" is not a known time zone; use an IANA name such as UTC or Europe/Berlin.`,
    );
  }
  return zone;
}
