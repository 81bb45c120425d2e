// Resumable backfill: copies every conversation of the app, in createdAt ASC order (createdAt
// never changes, so the order and any startingAfter anchor are stable while the app is live),
// committing each page together with the cursor that follows it. A crash loses at most the page
// in flight; a re-run resumes from the last committed cursor.
//
// With `concurrency` > 1 the createdAt key space is cut into disjoint windows [from, until) that
// are paged at the same time (each one a createdAt ASC listing from `from`, stopped at the first
// conversation at or past `until`, which belongs to the next window). Fetches overlap, writes stay
// serial (one transaction at a time, each carrying every window's committed cursor in the one
// checkpoint), and the pass completes only when every window has reached its end.
import { setMaxListeners } from "node:events";
import { MirrorError } from "../errors.ts";
import type { TalkJSClient } from "../talkjs/client.ts";
import {
  type ConversationPage,
  INITIAL_CURSOR,
  type PagerCursor,
  pageConversations,
} from "../talkjs/pagination.ts";
import { mergePages, pipelinePages } from "./pipeline.ts";
import { addPage, clock, type RunSummary, recordedRun, type SyncContext } from "./run.ts";
import { ACTIVITY_STREAM, BACKFILL_STREAM, CREATED_STREAM, MESSAGES_STREAM } from "./streams.ts";

export interface BackfillOptions {
  /** Ignore a saved cursor and start a fresh pass. */
  restart?: boolean;
  /** Clock-skew margin (ms) subtracted from the pass start when it seeds the sync watermarks. */
  clockSkewMs: number;
  /**
   * createdAt windows paged at once (default 1: one listing). Applies when a pass starts; a
   * resumed pass keeps the windows it was started with.
   */
  concurrency?: number;
}

export interface BackfillSummary extends RunSummary {
  resumed: boolean;
  /**
   * Set when the conversation pass had already completed (at this time) and only its message
   * pass was left: nothing was listed again (the counters are 0).
   */
  conversationPassCompletedAt?: string;
  /** Windows of this pass (1 = the sequential listing). */
  windows: number;
}

/** One slice [from, until) of the createdAt key space and how far its listing got. */
export interface BackfillWindow {
  /** Inclusive lower bound (ms); null = from the first conversation. */
  from: number | null;
  /** Exclusive upper bound (ms); null = to the end (the last window also takes conversations created during the pass). */
  until: number | null;
  /** Resume point of this window's listing (committed). */
  pager: PagerCursor;
  done: boolean;
}

/** What the backfill stream's sync_state.cursor holds between pages. */
interface BackfillCheckpoint {
  windows: BackfillWindow[];
  /** When the pass (not this run: a resumed pass keeps it) started, in ms. */
  passStartedAt: number;
}

/** Most windows a backfill pages at once. */
export const MAX_BACKFILL_CONCURRENCY = 64;

export async function runBackfill(ctx: SyncContext, options: BackfillOptions): Promise<BackfillSummary> {
  const { store, appId, logger } = ctx;
  const saved = options.restart ? null : await store.getSyncState(appId, BACKFILL_STREAM);
  const resume = saved?.cursor ? parseCheckpoint(saved.cursor) : undefined;
  const passStartedAt = resume?.passStartedAt ?? clock(ctx);
  let windows = resume?.windows;
  logger.info(
    { job: "backfill", resumed: resume !== undefined, windows: windows?.length },
    resume ? "backfill resuming from its checkpoint" : "backfill started",
  );
  let analyzedAt = 0;
  const summary = await recordedRun(ctx, "backfill", async (progress) => {
    windows ??= await planWindows(ctx.client, options.concurrency ?? 1, ctx.signal);
    const state = windows;
    const checkpointOf = (i: number, pager: PagerCursor, done: boolean): string =>
      JSON.stringify({
        passStartedAt,
        windows: state.map((w, j) => (j === i ? { ...w, pager, done } : w)),
      } satisfies BackfillCheckpoint);
    // Writes never overlap: one transaction at a time, so every checkpoint written holds the
    // committed cursor of every window (and SQLite has one writer anyway).
    let writing: Promise<unknown> = Promise.resolve();
    const serial = <T>(fn: () => Promise<T>): Promise<T> => {
      const next = writing.then(fn);
      writing = next.catch(() => {});
      return next;
    };
    const writePages = async (i: number, batch: ConversationPage[]) => {
      const page = mergePages(batch);
      const counts = await store.upsertConversations(appId, page.conversations, {
        seenAt: new Date(page.fetchedAt),
        checkpoint: { stream: BACKFILL_STREAM, cursor: checkpointOf(i, page.cursor, false) },
        countInRun: { runId: progress.runId, pages: page.pages },
      });
      (state[i] as BackfillWindow).pager = page.cursor;
      addPage(ctx, progress, page, counts);
      analyzedAt = await refreshPlannerStats(ctx, progress.inserted, analyzedAt);
    };
    const finishWindow = async (i: number) => {
      const w = state[i] as BackfillWindow;
      await store.saveSyncState(appId, BACKFILL_STREAM, { cursor: checkpointOf(i, w.pager, true) });
      w.done = true;
    };
    await eachWindow(ctx, state, async (i, signal) => {
      const w = state[i] as BackfillWindow;
      // Pages keep being fetched while earlier ones are written; they commit in order, each write
      // (one page, or the pages that arrived meanwhile) with the cursor that follows it.
      await pipelinePages(windowPages(ctx.client, w, signal), (batch) => serial(() => writePages(i, batch)));
      if (state.length > 1) await serial(() => finishWindow(i));
    });
    await completePass(ctx, passStartedAt, options.clockSkewMs);
  });
  return { ...summary, resumed: resume !== undefined, windows: windows?.length ?? 1 };
}

/**
 * Runs `fn` for every unfinished window at once. The first failure aborts the other windows'
 * requests (their committed pages stay, with their cursors) and is the error the pass fails with.
 */
async function eachWindow(
  ctx: SyncContext,
  windows: BackfillWindow[],
  fn: (i: number, signal: AbortSignal) => Promise<void>,
): Promise<void> {
  const stop = new AbortController();
  const signal = ctx.signal ? AbortSignal.any([ctx.signal, stop.signal]) : stop.signal;
  // Every window's request in flight (and its rate-limit wait) listens on this one signal; they
  // are removed when each settles (checked), so Node's leak warning at 10 would be a false alarm.
  setMaxListeners(Math.max(10, windows.length * 4), signal);
  let failure: { error: unknown } | undefined;
  await Promise.all(
    windows.map(async (w, i) => {
      if (w.done) return;
      try {
        await fn(i, signal);
      } catch (error) {
        if (!failure) {
          failure = { error };
          stop.abort();
        }
      }
    }),
  );
  if (failure) throw failure.error;
}

/** The pages of one window: its createdAt ASC listing, cut at the first conversation at or past `until`. */
async function* windowPages(
  client: TalkJSClient,
  w: BackfillWindow,
  signal: AbortSignal,
): AsyncGenerator<ConversationPage> {
  const pages = pageConversations(
    client,
    { orderBy: "createdAt", orderDirection: "ASC", from: w.pager },
    signal,
  );
  for await (const page of pages) {
    if (w.until === null) {
      yield page;
      continue;
    }
    const until = w.until;
    const kept = page.conversations.filter((c) => c.createdAt < until);
    if (kept.length > 0) yield { ...page, conversations: kept };
    // TalkJS has no createdBefore filter: the first conversation at or past `until` ends this
    // window (the next one lists it); the pager is closed by returning.
    if (kept.length < page.conversations.length) return;
  }
}

/**
 * Cuts the createdAt range into `concurrency` windows. Two one-item requests find the first and
 * last createdAt; the range between them is split evenly (windows of an app that grew unevenly
 * hold unequal shares; the pass takes as long as the fullest). The first window is open below and
 * the last open above, so nothing outside the probed range is missed.
 */
export async function planWindows(
  client: Pick<TalkJSClient, "listConversations">,
  concurrency: number,
  signal?: AbortSignal,
): Promise<BackfillWindow[]> {
  const whole: BackfillWindow[] = [{ from: null, until: null, pager: INITIAL_CURSOR, done: false }];
  if (concurrency <= 1) return whole;
  const probe = async (orderDirection: "ASC" | "DESC") =>
    (await client.listConversations({ limit: 1, orderBy: "createdAt", orderDirection }, signal))[0]
      ?.createdAt;
  const first = await probe("ASC");
  const last = await probe("DESC");
  if (first === undefined || last === undefined) return whole;
  return windowsFor(splitRange(first, last, concurrency));
}

/** Boundaries that cut [first, last] into at most `n` windows of equal time span (strictly increasing, > first). */
export function splitRange(first: number, last: number, n: number): number[] {
  const out: number[] = [];
  for (let i = 1; i < n; i++) {
    const b = first + Math.floor(((last - first) * i) / n);
    if (b > first && b > (out.at(-1) ?? first)) out.push(b);
  }
  return out;
}

/** Windows [null, b1), [b1, b2), …, [bk, null) for boundaries b1 < … < bk. */
export function windowsFor(boundaries: number[]): BackfillWindow[] {
  const edges = [null, ...boundaries, null];
  return edges.slice(0, -1).map((from, i) => ({
    from,
    until: edges[i + 1] ?? null,
    // ts = from with nothing yet seen: the listing starts at the first conversation AT `from`.
    pager: from === null ? INITIAL_CURSOR : { ts: from, idsAtTs: [] },
    done: false,
  }));
}

/** Inserted-row counts at which a PostgreSQL backfill refreshes the planner's statistics. */
const ANALYZE_AT = [2_000, 20_000, 200_000];

/**
 * A backfill fills empty tables, and PostgreSQL plans (and caches, e.g. the foreign-key checks of
 * the participants insert) with the statistics of an EMPTY table until something ANALYZEs it.
 * With autovacuum off or lagging, measured on 100k conversations, every page then scanned the
 * whole table: 46 conversations/s at 19k rows, 2,600/s right after an ANALYZE. So analyze once
 * the run has inserted 2k, 20k and 200k rows (each takes well under a second).
 */
async function refreshPlannerStats(ctx: SyncContext, inserted: number, done: number): Promise<number> {
  if (ctx.store.provider !== "postgresql") return done;
  const due = ANALYZE_AT.filter((n) => n > done && inserted >= n).at(-1);
  if (due === undefined) return done;
  await ctx.store.analyzeConversations();
  return due;
}

/**
 * The pass is complete: clear the cursor (the next backfill starts a fresh pass) and, when the
 * incremental streams have no watermark yet, start them at the pass's start. Everything created
 * or messaged since then is what the next `sync` fetches; what changed during the pass is caught.
 */
async function completePass(ctx: SyncContext, passStartedAt: number, clockSkewMs: number): Promise<void> {
  const now = new Date(clock(ctx));
  const watermarkMs = passStartedAt - clockSkewMs;
  // The backfill stream's watermark records when the last COMPLETE pass started (page commits
  // also set last_success_at, so that alone cannot tell a finished pass from a started one).
  await ctx.store.saveSyncState(ctx.appId, BACKFILL_STREAM, {
    cursor: null,
    watermark: new Date(passStartedAt),
    lastSuccessAt: now,
  });
  for (const stream of [CREATED_STREAM, ACTIVITY_STREAM]) {
    const state = await ctx.store.getSyncState(ctx.appId, stream);
    if (state?.watermark) continue;
    await ctx.store.saveSyncState(ctx.appId, stream, { cursor: null, watermark: new Date(watermarkMs) });
  }
}

/** True once a backfill pass has completed for this app (the precondition of `sync`). */
export async function hasCompletedBackfill(ctx: Pick<SyncContext, "store" | "appId">): Promise<boolean> {
  const state = await ctx.store.getSyncState(ctx.appId, BACKFILL_STREAM);
  return state?.watermark != null;
}

function parseCheckpoint(text: string): BackfillCheckpoint {
  try {
    const value = JSON.parse(text) as Partial<BackfillCheckpoint> & { pager?: PagerCursor };
    if (value && typeof value === "object" && typeof value.passStartedAt === "number") {
      // A checkpoint written before windows existed: one listing, the whole key space.
      if (isPager(value.pager)) {
        return {
          passStartedAt: value.passStartedAt,
          windows: [{ from: null, until: null, pager: value.pager, done: false }],
        };
      }
      if (Array.isArray(value.windows) && value.windows.length > 0 && value.windows.every(isWindow)) {
        return { passStartedAt: value.passStartedAt, windows: value.windows };
      }
    }
  } catch {
    // fall through to the typed error
  }
  throw new MirrorError(
    "CHECKPOINT_INVALID",
    "the saved backfill checkpoint is unreadable; run `talkjs-mirror backfill --restart` to start a fresh pass",
  );
}

function isPager(p: unknown): p is PagerCursor {
  return typeof p === "object" && p !== null && Array.isArray((p as PagerCursor).idsAtTs);
}

function isWindow(w: unknown): w is BackfillWindow {
  if (typeof w !== "object" || w === null) return false;
  const { from, until, pager, done } = w as BackfillWindow;
  const bound = (b: unknown) => b === null || typeof b === "number";
  return bound(from) && bound(until) && isPager(pager) && typeof done === "boolean";
}

/**
 * When the last complete conversation pass is not yet followed by a completed message pass (a
 * backfill killed during its messages): the time that pass completed; otherwise null. A resumed
 * backfill then goes straight to the pending messages instead of listing every conversation again.
 */
export async function messagesPendingAfterPass(
  ctx: Pick<SyncContext, "store" | "appId">,
): Promise<Date | null> {
  const backfill = await ctx.store.getSyncState(ctx.appId, BACKFILL_STREAM);
  if (backfill?.watermark == null || backfill.cursor != null) return null;
  const messages = await ctx.store.getSyncState(ctx.appId, MESSAGES_STREAM);
  const done = messages?.lastSuccessAt;
  if (done && done.getTime() >= backfill.watermark.getTime()) return null;
  return backfill.lastSuccessAt ?? backfill.watermark;
}
