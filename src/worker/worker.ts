// `talkjs-mirror run`: the long-running worker. Schedules incremental syncs and reconciles with
// node-cron, runs an initial (or interrupted) backfill first, never overlaps itself (jobs.ts) or
// another process (the app's run lock), serves /healthz, /readyz and /metrics, and stops
// gracefully: on stop() it stops scheduling, aborts HTTP in flight, lets the page being written
// commit or roll back whole, releases the lock and closes every pool.
import { type ScheduledTask, schedule } from "node-cron";
import type { Logger } from "pino";
import type { AppConfig } from "../config/index.ts";
import { WORKER_DEFAULTS, type WorkerSettings } from "../config/worker.ts";
import { MirrorError } from "../errors.ts";
import { withLogContext } from "../log.ts";
import { type OpenedMirror, openMirror } from "../mirror.ts";
import { databaseError } from "../store/db-errors.ts";
import { hasCompletedBackfill } from "../sync/backfill.ts";
import { runFilesJob } from "../sync/files.ts";
import { runMirrorJob } from "../sync/jobs.ts";
import { pruneRunHistory } from "../sync/retention.ts";
import { CREATED_STREAM } from "../sync/streams.ts";
import { type HealthServer, startHealthServer } from "./health.ts";
import { type JobKind, JobRunner, type SkipReason } from "./jobs.ts";
import { createMetrics, type WorkerMetrics } from "./metrics.ts";
import { decideReadiness, initialBackfill, type Readiness } from "./readiness.ts";
import { startWebhookRunner, type WebhookRunner } from "./webhook-runner.ts";

/** How often the worker prunes sync_runs (SYNC_RUNS_RETENTION_DAYS). */
const PRUNE_EVERY_MS = 3_600_000;

export interface Worker {
  /** Base URL of the health/metrics endpoint. */
  url: string;
  /** The webhook endpoint (WEBHOOK_PORT set), e.g. http://127.0.0.1:8080/webhooks/talkjs. */
  webhookUrl?: string;
  metrics: WorkerMetrics;
  jobs: JobRunner;
  /**
   * Graceful stop. Resolves `true` when the running job ended within the grace period, `false`
   * when it had to be cut off (its page transaction rolls back when the connection closes).
   */
  stop(reason?: string): Promise<boolean>;
}

export interface StartWorkerOptions {
  logger: Logger;
}

export async function startWorker(
  config: AppConfig,
  settings: WorkerSettings,
  options: StartWorkerOptions,
): Promise<Worker> {
  const { logger } = options;
  const controller = new AbortController();
  const mirror: OpenedMirror = await openMirror(config, { signal: controller.signal, logger });
  const { ctx, store, client } = mirror;
  const appId = ctx.appId;
  const startedAt = Date.now();
  const consecutiveFailures: Record<JobKind, number> = { backfill: 0, sync: 0, reconcile: 0, files: 0 };
  // Files are archived by their own job on FILES_CRON, beside the mirror jobs (not after each one):
  // long downloads must not delay the next sync.
  const files = config.sync.files;
  const mirrorSettings = { ...config.sync, files: undefined };

  const metrics = createMetrics({
    httpStats: () => client.stats,
    totals: () => store.readTotals(appId),
    restores: () => store.restore.totals(appId),
    onScrapeError: (error) =>
      logger.error(
        { err: error instanceof Error ? error.message : String(error) },
        "metrics scrape could not read the database",
      ),
  });
  ctx.onRunFinished = (outcome) => metrics.observeRun(outcome);

  // Run retention after a job, at most once an hour (the first job prunes at once).
  let prunedAt = Number.NEGATIVE_INFINITY;
  const pruneRuns = async (): Promise<void> => {
    const now = Date.now();
    if (now - prunedAt < PRUNE_EVERY_MS) return;
    prunedAt = now;
    const days = settings.syncRunsRetentionDays ?? WORKER_DEFAULTS.syncRunsRetentionDays;
    try {
      const pruned = await pruneRunHistory(store, appId, days, now);
      if (pruned > 0) logger.info({ pruned, retentionDays: days }, "pruned old sync_runs rows");
    } catch (error) {
      logger.warn(
        { err: error instanceof Error ? error.message : String(error) },
        "could not prune sync_runs",
      );
    }
  };

  const runJob = (kind: JobKind): Promise<void> =>
    withLogContext({ job: kind }, async () => {
      try {
        if (kind === "files") {
          if (files?.enabled) await runFilesJob(ctx, files);
        } else {
          // Webhook work is drained beside the job, under the lock the job takes.
          await webhooks?.jobStarting();
          try {
            // The worker never lifts the mass-deletion guard: that is an operator's explicit call.
            await runMirrorJob(ctx, kind, { settings: mirrorSettings, allowMassDelete: false });
          } finally {
            webhooks?.jobEnded();
          }
        }
        consecutiveFailures[kind] = 0;
        metrics.setConsecutiveFailures(kind, 0);
      } catch (error) {
        if (error instanceof MirrorError && error.code === "RUN_LOCKED") {
          // Another replica (or a one-shot command) is doing this app's work: not a failure.
          metrics.jobSkipped(kind, "locked");
          logger.debug({ reason: error.message }, `${kind} skipped: another process holds the run lock`);
          return;
        }
        if (controller.signal.aborted) return; // stopped by shutdown; the run is recorded as aborted
        if (error instanceof MirrorError && error.code === "LOCK_LOST") metrics.lockLost(kind);
        consecutiveFailures[kind] += 1;
        metrics.setConsecutiveFailures(kind, consecutiveFailures[kind]);
        logger.error(
          {
            code: error instanceof MirrorError ? error.code : "UNEXPECTED",
            err: error instanceof Error ? error.message : String(error),
            consecutiveFailures: consecutiveFailures[kind],
          },
          `${kind} failed; it is retried on its next tick`,
        );
      }
      await pruneRuns();
    });

  const onSkip = (kind: JobKind, reason: SkipReason) => {
    metrics.jobSkipped(kind, reason);
    logger.info({ job: kind, reason }, `${kind} tick skipped (${reason})`);
  };
  const jobs = new JobRunner(runJob, onSkip);
  // Its own runner: a files job never overlaps itself but runs beside the mirror jobs.
  const filesJobs = new JobRunner(runJob, onSkip);

  const readiness = async (): Promise<Readiness> => {
    const input = {
      now: Date.now(),
      maxStalenessMs: settings.readyMaxStalenessMs,
      consecutiveFailures: { ...consecutiveFailures },
    };
    try {
      const initial = await initialBackfill(store, appId, config.sync.mirrorMessages);
      const created = await store.getSyncState(appId, CREATED_STREAM);
      const times = [created?.lastSuccessAt, initial.completedAt]
        .filter((d): d is Date => d != null)
        .map((d) => d.getTime());
      return decideReadiness({
        ...input,
        database: { ok: true },
        backfillComplete: initial.complete,
        backfillProgress: initial.progress,
        lastSuccessAt: times.length > 0 ? Math.max(...times) : null,
      });
    } catch (error) {
      // /readyz is served on every interface: it says a code, the detail goes to the log only.
      const failure = databaseError(error, config.database.url);
      logger.warn({ code: failure.code, detail: failure.detail }, `readiness check: ${failure.message}`);
      return decideReadiness({
        ...input,
        database: { ok: false, error: failure.code },
        backfillComplete: false,
        lastSuccessAt: null,
      });
    }
  };

  let webhooks: WebhookRunner | undefined;
  if (settings.webhooks) {
    try {
      webhooks = await startWebhookRunner({
        settings: settings.webhooks,
        ctx,
        registry: metrics.registry,
        logger,
        mirrorUsers: config.sync.mirrorUsers === true,
        mirrorMessages: config.sync.mirrorMessages,
        concurrency: config.sync.messageConcurrency,
      });
    } catch (error) {
      await mirror.close();
      throw error;
    }
  }

  let server: HealthServer;
  try {
    server = await startHealthServer(settings.metricsHost, settings.metricsPort, {
      registry: metrics.registry,
      readiness,
      startedAt,
    });
  } catch (error) {
    await webhooks?.close();
    await mirror.close();
    throw new MirrorError(
      "METRICS_LISTEN_FAILED",
      `cannot serve health and metrics on ${settings.metricsHost}:${settings.metricsPort} ` +
        `(${(error as Error).message}); set METRICS_PORT to a free port`,
    );
  }

  const cronLogger = {
    info: (m: string) => logger.debug({ source: "node-cron" }, m),
    warn: (m: string) => logger.warn({ source: "node-cron" }, m),
    error: (m: string | Error) => logger.error({ source: "node-cron" }, String(m)),
    debug: (m: string | Error) => logger.debug({ source: "node-cron" }, String(m)),
  };
  const tasks: ScheduledTask[] = (
    [
      ["sync", settings.syncCron],
      ["reconcile", settings.reconcileCron],
      ...(files?.enabled ? ([["files", settings.filesCron]] as const) : []),
    ] as const
  ).map(([kind, expression]) =>
    schedule(expression, () => void (kind === "files" ? filesJobs : jobs).request(kind), {
      name: kind,
      timezone: settings.timezone,
      logger: cronLogger,
      // A tick that fires late (a blocked event loop) still counts; the runner decides overlap.
      suppressMissedWarning: true,
    }),
  );

  // First job: finish (or start) the backfill when the mirror has none, else catch up at once
  // instead of waiting up to a whole cron period.
  jobs.request((await hasCompletedBackfill(ctx)) ? "sync" : "backfill");
  if (files?.enabled) filesJobs.request("files");
  logger.info(
    {
      appId,
      syncCron: settings.syncCron,
      reconcileCron: settings.reconcileCron,
      filesCron: files?.enabled ? settings.filesCron : "off",
      timezone: settings.timezone,
      endpoint: server.url,
    },
    `worker started: health and metrics on ${server.url}`,
  );

  let stopping: Promise<boolean> | null = null;
  return {
    url: server.url,
    ...(webhooks ? { webhookUrl: webhooks.url } : {}),
    metrics,
    jobs,
    stop(reason = "stop requested") {
      stopping ??= (async () => {
        logger.info({ reason, running: jobs.running }, "worker stopping");
        for (const task of tasks) await task.destroy();
        jobs.close();
        filesJobs.close();
        controller.abort(new MirrorError("ABORTED", `worker stopping: ${reason}`));
        let timer: NodeJS.Timeout | undefined;
        const clean = await Promise.race([
          Promise.all([jobs.idle(), filesJobs.idle()]).then(() => true),
          new Promise<boolean>((resolve) => {
            timer = setTimeout(() => resolve(false), settings.shutdownGraceMs);
          }),
        ]);
        clearTimeout(timer);
        if (!clean) {
          logger.error(
            { graceMs: settings.shutdownGraceMs, running: jobs.running },
            "the running job did not stop within the grace period; closing anyway (its open page rolls back)",
          );
        }
        await webhooks?.close();
        await server.close();
        await mirror.close();
        logger.info({ clean }, "worker stopped");
        return clean;
      })();
      return stopping;
    },
  };
}
