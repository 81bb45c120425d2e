// Resumable backfill: copies every conversation of the app, in createdAt ASC order (createdAt
// never changes, so the order and any startingAfter anchor are stable while the app is live),
// committing each page together with the cursor that follows it. A crash loses at most the page
// in flight; a re-run resumes from the last committed cursor.
import { MirrorError } from "../errors.ts";
import { type PagerCursor, pageConversations } from "../talkjs/pagination.ts";
import { mergePages, pipelinePages } from "./pipeline.ts";
import { addPage, clock, type RunSummary, recordedRun, type SyncContext } from "./run.ts";
import { ACTIVITY_STREAM, BACKFILL_STREAM, CREATED_STREAM } from "./streams.ts";

export interface BackfillOptions {
  /** Ignore a saved cursor and start a fresh pass. */
  restart?: boolean;
  /** Clock-skew margin (ms) subtracted from the pass start when it seeds the sync watermarks. */
  clockSkewMs: number;
}

export interface BackfillSummary extends RunSummary {
  resumed: boolean;
}

/** What the backfill stream's sync_state.cursor holds between pages. */
interface BackfillCheckpoint {
  pager: PagerCursor;
  /** When the pass (not this run: a resumed pass keeps it) started, in ms. */
  passStartedAt: number;
}

export async function runBackfill(ctx: SyncContext, options: BackfillOptions): Promise<BackfillSummary> {
  const { store, appId, logger } = ctx;
  const saved = options.restart ? null : await store.getSyncState(appId, BACKFILL_STREAM);
  const resume = saved?.cursor ? parseCheckpoint(saved.cursor) : undefined;
  const passStartedAt = resume?.passStartedAt ?? clock(ctx);
  logger.info(
    { job: "backfill", resumed: resume !== undefined },
    resume ? "backfill resuming from its checkpoint" : "backfill started",
  );
  let analyzedAt = 0;
  const summary = await recordedRun(ctx, "backfill", async (progress) => {
    const pages = pageConversations(
      ctx.client,
      { orderBy: "createdAt", orderDirection: "ASC", ...(resume ? { from: resume.pager } : {}) },
      ctx.signal,
    );
    // Pages keep being fetched while earlier ones are written; they commit in order, each write
    // (one page, or the pages that arrived meanwhile) with the cursor that follows it.
    await pipelinePages(pages, async (batch) => {
      const page = mergePages(batch);
      const checkpoint: BackfillCheckpoint = { pager: page.cursor, passStartedAt };
      const counts = await store.upsertConversations(appId, page.conversations, {
        seenAt: new Date(page.fetchedAt),
        checkpoint: { stream: BACKFILL_STREAM, cursor: JSON.stringify(checkpoint) },
      });
      addPage(ctx, progress, page, counts);
      analyzedAt = await refreshPlannerStats(ctx, progress.inserted, analyzedAt);
    });
    await completePass(ctx, passStartedAt, options.clockSkewMs);
  });
  return { ...summary, resumed: resume !== undefined };
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
  await ctx.store.queryRaw("ANALYZE conversations, conversation_participants");
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
    const value = JSON.parse(text) as Partial<BackfillCheckpoint>;
    if (
      value &&
      typeof value === "object" &&
      value.pager &&
      typeof value.pager === "object" &&
      Array.isArray(value.pager.idsAtTs) &&
      typeof value.passStartedAt === "number"
    ) {
      return value as BackfillCheckpoint;
    }
  } catch {
    // fall through to the typed error
  }
  throw new MirrorError(
    "CHECKPOINT_INVALID",
    "the saved backfill checkpoint is unreadable; run `talkjs-mirror backfill --restart` to start a fresh pass",
  );
}
