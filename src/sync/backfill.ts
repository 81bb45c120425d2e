// Resumable backfill: copies every conversation of the app, in createdAt ASC order (createdAt
// never changes, so the order is stable while the app is live), committing each page together
// with the cursor that follows it. A crash loses at most the page in flight; a re-run resumes
// from the last committed cursor.
import type { Logger } from "pino";
import { MirrorError } from "../errors.ts";
import type { Store } from "../store/store.ts";
import type { TalkJSClient } from "../talkjs/client.ts";
import { type PagerCursor, pageConversations } from "../talkjs/pagination.ts";

export const BACKFILL_STREAM = "backfill";

export interface BackfillOptions {
  client: TalkJSClient;
  store: Store;
  appId: string;
  logger: Logger;
  /** Ignore a saved cursor and start a fresh pass. */
  restart?: boolean;
  signal?: AbortSignal;
  /** Called after each committed page. */
  onPage?: (progress: RunProgress) => void;
}

export interface RunProgress {
  pages: number;
  fetched: number;
  inserted: number;
  updated: number;
  unchanged: number;
}

export interface RunSummary extends RunProgress {
  runId: number;
  resumed: boolean;
  durationMs: number;
}

/** What the backfill stream's sync_state.cursor holds between pages. */
interface BackfillCheckpoint {
  pager: PagerCursor;
}

export async function runBackfill(options: BackfillOptions): Promise<RunSummary> {
  const { client, store, appId, logger } = options;
  const startedAt = Date.now();
  const saved = options.restart ? null : await store.getSyncState(appId, BACKFILL_STREAM);
  const from = saved?.cursor ? parseCheckpoint(saved.cursor).pager : undefined;
  const runId = await store.startRun(appId, "backfill", new Date(startedAt));
  const progress: RunProgress = { pages: 0, fetched: 0, inserted: 0, updated: 0, unchanged: 0 };
  logger.info(
    { runId, resumed: from !== undefined },
    from ? "backfill resuming from checkpoint" : "backfill started",
  );
  try {
    const pages = pageConversations(
      client,
      { orderBy: "createdAt", orderDirection: "ASC", ...(from ? { from } : {}) },
      options.signal,
    );
    for await (const page of pages) {
      const checkpoint: BackfillCheckpoint = { pager: page.cursor };
      const counts = await store.upsertConversations(appId, page.conversations, {
        seenAt: new Date(),
        checkpoint: { stream: BACKFILL_STREAM, cursor: JSON.stringify(checkpoint) },
      });
      progress.pages += 1;
      progress.fetched += page.conversations.length;
      progress.inserted += counts.inserted;
      progress.updated += counts.updated;
      progress.unchanged += counts.unchanged;
      options.onPage?.({ ...progress });
    }
    // The pass is complete: clear the cursor so the next backfill starts a fresh pass.
    await store.saveSyncState(appId, BACKFILL_STREAM, { cursor: null, lastSuccessAt: new Date() });
    await store.finishRun(runId, { status: "succeeded", counts: progress });
    const summary = { ...progress, runId, resumed: from !== undefined, durationMs: Date.now() - startedAt };
    logger.info(summary, "backfill finished");
    return summary;
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    const aborted = options.signal?.aborted === true;
    await store.finishRun(runId, {
      status: aborted ? "aborted" : "failed",
      counts: progress,
      error: message,
    });
    await store.recordSyncError(appId, BACKFILL_STREAM, message);
    throw error;
  }
}

function parseCheckpoint(text: string): BackfillCheckpoint {
  try {
    const value = JSON.parse(text) as Partial<BackfillCheckpoint>;
    if (value && typeof value === "object" && value.pager && typeof value.pager === "object") {
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
