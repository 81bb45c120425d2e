// What every sync run shares: the context it is given, its counters, and the bookkeeping that
// makes each run leave a `sync_runs` row with its counts and outcome — also when it fails.
import type { Logger } from "pino";
import { addCounts, countsOf, type RunCounts, zeroCounts } from "../counts.ts";
import { MirrorError } from "../errors.ts";
import { withLogContext } from "../log.ts";
import { isDriverError, recognizeDatabaseError } from "../store/db-errors.ts";
import type { RunThrottle, Store, UpsertCounts } from "../store/store.ts";
import type { TalkJSClient } from "../talkjs/client.ts";
import type { ConversationPage } from "../talkjs/pagination.ts";
import {
  ACTIVITY_STREAM,
  BACKFILL_STREAM,
  CREATED_STREAM,
  MESSAGES_STREAM,
  RECONCILE_STREAM,
  USERS_STREAM,
} from "./streams.ts";

export type RunKind = "backfill" | "sync" | "reconcile" | "messages" | "users";
export const RUN_KINDS: readonly RunKind[] = ["backfill", "sync", "reconcile", "messages", "users"];

/** The sync_state rows a failed run of each kind is noted on. */
const ERROR_STREAMS: Record<RunKind, readonly string[]> = {
  backfill: [BACKFILL_STREAM],
  sync: [CREATED_STREAM, ACTIVITY_STREAM],
  reconcile: [RECONCILE_STREAM],
  messages: [MESSAGES_STREAM],
  users: [USERS_STREAM],
};

/** Everything a run needs, built once by the caller (CLI or worker); nothing here reads the environment. */
export interface SyncContext {
  client: TalkJSClient;
  store: Store;
  appId: string;
  logger: Logger;
  /** Aborts HTTP in flight; the page being written commits or rolls back as a whole. */
  signal?: AbortSignal | undefined;
  /** Called after each committed page. */
  onProgress?: ((progress: RunProgress) => void) | undefined;
  /** Called once when a run ends, whatever its outcome (the worker's metrics listen here). */
  onRunFinished?: ((outcome: RunOutcome) => void) | undefined;
  /** Injectable clock (ms), for tests. */
  now?: (() => number) | undefined;
}

/** A run's counters so far, with what identifies the run (what onProgress receives). */
export interface RunProgress extends RunCounts {
  kind: RunKind;
  runId: number;
  startedAt: number;
}

export interface RunSummary extends RunProgress {
  durationMs: number;
}

/** How a run ended: what the `sync_runs` row records, handed to `onRunFinished`. */
export interface RunOutcome extends RunSummary {
  status: "succeeded" | "failed" | "aborted";
  /** The error code (MirrorError) of a run that did not succeed. */
  errorCode?: string;
}

/** What a recorded run needs: a job that never calls TalkJS (the files job) has no client. */
export type RunContext = Omit<SyncContext, "client"> & { client?: TalkJSClient | undefined };

export function clock(ctx: RunContext): number {
  return (ctx.now ?? Date.now)();
}

/** Adds committed work to the run's counters and reports progress (onProgress gets a copy). */
export function addProgress(ctx: RunContext, progress: RunProgress, delta: Partial<RunCounts>): void {
  addCounts(progress, delta);
  ctx.onProgress?.({ ...progress });
}

/** Adds a committed conversation page (or batch of `pages` pages) to the run's counters. */
export function addPage(
  ctx: SyncContext,
  progress: RunProgress,
  page: ConversationPage & { pages?: number },
  counts: UpsertCounts,
): void {
  addProgress(ctx, progress, { ...counts, pages: page.pages ?? 1, fetched: page.conversations.length });
}

/**
 * Runs `body` as one recorded run: a `sync_runs` row is opened first and closed with the outcome
 * ("succeeded", "failed" or "aborted" when the signal fired) and the counts reached, and a failure
 * is also recorded on the stream's sync_state. The error is rethrown unchanged.
 */
export async function recordedRun(
  ctx: RunContext,
  kind: RunKind,
  body: (progress: RunProgress) => Promise<void>,
): Promise<RunSummary> {
  const startedAt = clock(ctx);
  const runId = await ctx.store.startRun(ctx.appId, kind, new Date(startedAt));
  const progress: RunProgress = { kind, runId, ...zeroCounts(), startedAt };
  // Every line logged while the run works (client retries included) carries its run id and job.
  const throttle = throttleSince(ctx);
  return withLogContext({ runId, job: kind }, () => finishRecordedRun(ctx, progress, body, throttle));
}

/**
 * The client's throttling counters are per app and process (the governor is shared), so a run's
 * share is their growth while it ran: counts now, and a function giving the delta at its end.
 */
function throttleSince(ctx: RunContext): () => RunThrottle | undefined {
  const stats = ctx.client?.stats;
  if (!stats) return () => undefined;
  const { rateLimited, pausedMs } = stats;
  return () => ({
    rateLimited: stats.rateLimited - rateLimited,
    pausedMs: Math.max(0, stats.pausedMs - pausedMs),
    endRate: stats.currentRate,
  });
}

async function finishRecordedRun(
  ctx: RunContext,
  progress: RunProgress,
  body: (progress: RunProgress) => Promise<void>,
  throttle: () => RunThrottle | undefined,
): Promise<RunSummary> {
  const { kind, runId, startedAt } = progress;
  const log = ctx.logger;
  try {
    await body(progress);
  } catch (raw) {
    // A database failure (Prisma's multi-line invocation text, a driver code) becomes one line
    // with a code: what the operator sees, what sync_runs.error stores. The detail is for debug.
    const known = isDriverError(raw) ? recognizeDatabaseError(raw) : undefined;
    const thrown = known ?? raw;
    if (known) log.debug({ code: known.code, detail: known.detail }, "database error detail");
    const aborted = ctx.signal?.aborted === true;
    // A lost run lock aborts the run: record why, not the aborted request it surfaced as.
    const reason: unknown = ctx.signal?.reason;
    const error = aborted && reason instanceof MirrorError && reason.code === "LOCK_LOST" ? reason : thrown;
    const message = describe(error);
    try {
      await ctx.store.finishRun(runId, {
        status: aborted ? "aborted" : "failed",
        counts: countsOf(progress),
        ...withThrottle(throttle()),
        error: message,
        finishedAt: new Date(clock(ctx)),
      });
      for (const stream of ERROR_STREAMS[kind]) {
        await ctx.store.recordSyncError(ctx.appId, stream, message, new Date(clock(ctx)));
      }
    } catch (bookkeeping) {
      // The run's own error is the one that matters; the database may be what failed.
      log.error({ err: describe(bookkeeping) }, "could not record the failed run");
    }
    log.warn({ err: message, ...countsOf(progress) }, aborted ? `${kind} aborted` : `${kind} failed`);
    ctx.onRunFinished?.({
      ...progress,
      durationMs: clock(ctx) - startedAt,
      status: aborted ? "aborted" : "failed",
      errorCode: error instanceof MirrorError ? error.code : "UNEXPECTED",
    });
    throw error;
  }
  await ctx.store.finishRun(runId, {
    status: "succeeded",
    counts: countsOf(progress),
    ...withThrottle(throttle()),
    finishedAt: new Date(clock(ctx)),
  });
  const summary: RunSummary = { ...progress, durationMs: clock(ctx) - startedAt };
  log.info(summary, `${kind} finished`);
  ctx.onRunFinished?.({ ...summary, status: "succeeded" });
  return summary;
}

/** exactOptionalPropertyTypes: a job without a client leaves the columns at their defaults. */
function withThrottle(throttle: RunThrottle | undefined): { throttle?: RunThrottle } {
  return throttle ? { throttle } : {};
}

function describe(error: unknown): string {
  if (error instanceof MirrorError) return `[${error.code}] ${error.message}`;
  return error instanceof Error ? error.message : String(error);
}
