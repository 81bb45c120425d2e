// The worker's webhook side (WEBHOOK_PORT set): the receiver, the inbox, and the consumer loop.
// The consumer moves stored events into the work queue at once, then drains the queued fetches:
// beside the running job when this process runs one (it holds the app's run lock, so a long
// reconcile does not stall freshness), else under the run lock itself. When another process holds
// the lock, the work waits in the queue for it (every sync/reconcile drains it at its end).
import type { Logger } from "pino";
import type { Registry } from "prom-client";
import type { WebhookSettings } from "../config/webhooks.ts";
import { MirrorError } from "../errors.ts";
import { WebhookInbox } from "../store/webhook-inbox.ts";
import { withRunLock } from "../sync/lock.ts";
import type { SyncContext } from "../sync/run.ts";
import {
  type DrainOptions,
  drainWebhookWork,
  FailingItems,
  moveInboxToQueue,
} from "../sync/webhooks/consume.ts";
import { createWebhookMetrics, type WebhookMetrics } from "./webhook-metrics.ts";
import { startWebhookServer } from "./webhooks.ts";

/** How often the consumer retries on its own (a lock held elsewhere, a failed fetch) and prunes. */
const TICK_MS = 1_000;
const PRUNE_EVERY_MS = 3_600_000;
/** Webhook fetches in flight at least. */
const WEBHOOK_CONCURRENCY = 16;

export interface WebhookRunner {
  url: string;
  metrics: WebhookMetrics;
  /** Before a mirror job starts: waits for a drain holding the run lock, then drains beside the job. */
  jobStarting(): Promise<void>;
  jobEnded(): void;
  close(): Promise<void>;
}

export interface WebhookRunnerOptions {
  settings: WebhookSettings;
  ctx: SyncContext;
  registry: Registry;
  logger: Logger;
  mirrorUsers: boolean;
  mirrorMessages: boolean;
  concurrency: number;
}

export async function startWebhookRunner(o: WebhookRunnerOptions): Promise<WebhookRunner> {
  const { settings, ctx, logger } = o;
  const inbox = new WebhookInbox(settings.inboxPath);
  const metrics = createWebhookMetrics(o.registry, {
    inboxPending: () => inbox.counts().pending,
    queued: () => ctx.store.webhookWork.backlog(ctx.appId),
  });
  const drainOptions: DrainOptions = {
    mirrorUsers: o.mirrorUsers,
    mirrorMessages: o.mirrorMessages,
    // Each item is a GET or two: more in flight than the message pass; the client's rate limit
    // (governor) and its connections still pace them.
    concurrency: Math.max(o.concurrency, WEBHOOK_CONCURRENCY),
    onApplied: (kind, lagMs) => metrics.applied(kind, lagMs),
    failing: new FailingItems(),
    onGivenUp: (kind) => metrics.givenUp(kind),
  };
  let jobActive = false;
  let lockedDrain: Promise<unknown> | null = null;
  let closed = false;
  let prunedAt = Number.NEGATIVE_INFINITY;
  const loops: Promise<void>[] = [];

  /** A step that never overlaps itself: a kick while it runs makes it run once more after. */
  const serial = (step: () => Promise<void>): (() => void) => {
    let running: Promise<void> | null = null;
    let again = false;
    const kick = (): void => {
      if (closed) return;
      if (running) {
        again = true;
        return;
      }
      running = (async () => {
        try {
          do {
            again = false;
            await step();
          } while (again && !closed);
        } catch (error) {
          if (!closed) {
            logger.warn(
              {
                code: error instanceof MirrorError ? error.code : "UNEXPECTED",
                err: error instanceof Error ? error.message : String(error),
              },
              "webhook work not applied yet; retried shortly (and by the next sync)",
            );
          }
        } finally {
          running = null;
        }
      })();
      loops.push(running);
      void running.finally(() => loops.splice(loops.indexOf(running as Promise<void>), 1));
    };
    return kick;
  };

  // The drain: beside this process's running job (it holds the lock), else under the lock.
  const drain = serial(async () => {
    if (jobActive) {
      // Under the job's lock: stop taking new items once the job has ended and released it.
      await drainWebhookWork(ctx, { ...drainOptions, shouldStop: () => !jobActive });
      return;
    }
    // Under its own lock: hand it over as soon as a job wants it (jobStarting waits for this).
    const locked = withRunLock(ctx, "webhooks", (l) =>
      drainWebhookWork(l, { ...drainOptions, shouldStop: () => jobActive }),
    );
    lockedDrain = locked;
    try {
      await locked;
    } catch (error) {
      // Another process holds the lock: the work waits in the queue for it.
      if (!(error instanceof MirrorError && error.code === "RUN_LOCKED")) throw error;
    } finally {
      lockedDrain = null;
    }
  });
  // Inbox → work queue, apart from the drain: events received while a drain runs reach the queue
  // at once, and the drain's next round takes them.
  const kick = serial(async () => {
    await moveInboxToQueue(ctx, inbox, { mirrorUsers: o.mirrorUsers });
    if (Date.now() - prunedAt >= PRUNE_EVERY_MS) {
      prunedAt = Date.now();
      const pruned = inbox.prune(Date.now() - settings.retentionDays * 86_400_000);
      if (pruned > 0) logger.info({ pruned }, "pruned processed webhook events");
    }
    drain();
  });

  const server = await startWebhookServer(settings.host, settings.port, {
    inbox,
    secrets: settings.secrets,
    onAccepted: (type, duplicate) => {
      if (duplicate) metrics.deduplicated();
      else {
        metrics.received(type);
        kick();
      }
    },
    onRejected: (reason) => {
      metrics.rejected(reason);
      logger.warn({ reason }, "webhook delivery rejected");
    },
    onStoreError: (error) =>
      logger.error(
        { err: error instanceof Error ? error.message : String(error) },
        "webhook delivery could not be stored; answered 503",
      ),
  }).catch((error: unknown) => {
    inbox.close();
    throw new MirrorError(
      "WEBHOOK_LISTEN_FAILED",
      `cannot receive webhooks on ${settings.host}:${settings.port} (${(error as Error).message}); set WEBHOOK_PORT to a free port`,
    );
  });
  const timer = setInterval(kick, TICK_MS);
  timer.unref();
  kick(); // events stored before a crash or restart
  logger.info({ endpoint: server.url }, `receiving TalkJS webhooks on ${server.url}`);

  return {
    url: server.url,
    metrics,
    async jobStarting() {
      jobActive = true;
      await lockedDrain?.catch(() => undefined);
    },
    jobEnded() {
      jobActive = false;
      drain(); // what is left goes on under the drain's own lock
    },
    async close() {
      closed = true;
      clearInterval(timer);
      await server.close();
      await Promise.allSettled([...loops]);
      inbox.close();
    },
  };
}
