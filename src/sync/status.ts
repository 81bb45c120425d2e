// `status`: what is mirrored and how fresh it is, from the database alone (no TalkJS call).
import { countsOf, type RunCounts } from "../counts.ts";
import type { FileStats, Store, SyncRunRow } from "../store/store.ts";
import { RUN_KINDS, type RunKind } from "./run.ts";
import { STREAMS } from "./streams.ts";

export interface StreamStatus {
  stream: string;
  watermark: string | null;
  /** A pass is under way or was interrupted (backfill only). */
  inProgress: boolean;
  lastSuccessAt: string | null;
  lastError: string | null;
  lastErrorAt: string | null;
}

export interface RunStatusLine extends RunCounts {
  id: number;
  status: string;
  startedAt: string;
  finishedAt: string | null;
  error: string | null;
  /** 429s the run met, the time they held it (ms) and the rate (requests/s) it ended at (null: no client). */
  rateLimited: number;
  pausedMs: number;
  endRate: number | null;
}

export interface MirrorStatus {
  appId: string;
  live: number;
  deleted: number;
  participants: number;
  messages: { live: number; deleted: number };
  /** Files messages point to: references by status, and the bytes archived and still to fetch. */
  files: FileStats;
  backfillComplete: boolean;
  newestActivityAt: string | null;
  /** now − newest mirrored activity, in ms (null for an empty mirror). */
  lagMs: number | null;
  lastSyncedAt: string | null;
  streams: StreamStatus[];
  lastRuns: Partial<Record<RunKind, RunStatusLine>>;
  /**
   * Webhook fetches queued (every receiver's consumer puts them in the work queue) and how long the
   * oldest unserved event has waited (work_queue.waiting_since): the webhook lag, 0 when nothing waits.
   */
  webhooks: { queued: number; oldestQueuedAt: string | null; lagMs: number };
  /** The last `restore` of this mirror into an app (a run of the CLI, not of the mirror's jobs). */
  lastRestore: (RunStatusLine & { targetAppId: string | null }) | null;
}

const iso = (d: Date | null | undefined): string | null => (d ? d.toISOString() : null);

export async function readStatus(
  store: Store,
  appId: string,
  now: number = Date.now(),
): Promise<MirrorStatus> {
  const stats = await store.stats(appId);
  const streams: StreamStatus[] = [];
  for (const stream of STREAMS) {
    const s = await store.getSyncState(appId, stream);
    streams.push({
      stream,
      watermark: iso(s?.watermark),
      inProgress: s?.cursor != null,
      lastSuccessAt: iso(s?.lastSuccessAt),
      lastError: s?.lastError ?? null,
      lastErrorAt: iso(s?.lastErrorAt),
    });
  }
  // Each kind read directly: the worker writes two runs a minute, so "the last N runs" would lose
  // the nightly reconcile (and the backfill) within the hour.
  const lastRuns: Partial<Record<RunKind, RunStatusLine>> = {};
  for (const kind of RUN_KINDS) {
    const run = await store.lastRunOfKind(appId, kind);
    if (run) lastRuns[kind] = runLine(run);
  }
  const restore = await store.lastRunOfKind(appId, "restore");
  return {
    appId,
    live: stats.live,
    deleted: stats.deleted,
    participants: stats.participants,
    messages: await messageCounts(store, appId),
    files: await store.files.stats(appId),
    backfillComplete: streams.some((s) => s.stream === "backfill" && s.watermark !== null),
    newestActivityAt: iso(stats.newestActivityAt),
    lagMs: stats.newestActivityAt ? now - stats.newestActivityAt.getTime() : null,
    lastSyncedAt: iso(stats.lastSyncedAt),
    streams,
    lastRuns,
    webhooks: await webhookStatus(store, appId, now),
    lastRestore: restore ? { ...runLine(restore), targetAppId: restore.targetAppId } : null,
  };
}

/**
 * The messages table is the mirror's largest: its counts come from the totals every write keeps
 * (one row), counted from the table only before a run has created them.
 */
async function messageCounts(store: Store, appId: string): Promise<MirrorStatus["messages"]> {
  const totals = await store.readTotals(appId);
  if (totals === null) return store.messages.stats(appId);
  return { live: totals.messagesLive, deleted: totals.messagesDeleted };
}

async function webhookStatus(store: Store, appId: string, now: number): Promise<MirrorStatus["webhooks"]> {
  const { queued, oldestAt } = await store.webhookWork.backlog(appId);
  return {
    queued,
    oldestQueuedAt: iso(oldestAt),
    lagMs: oldestAt ? Math.max(0, now - oldestAt.getTime()) : 0,
  };
}

function runLine(run: SyncRunRow): RunStatusLine {
  return {
    id: run.id,
    status: run.status,
    startedAt: run.startedAt.toISOString(),
    finishedAt: iso(run.finishedAt),
    ...countsOf(run),
    error: run.error,
    rateLimited: run.rateLimited,
    pausedMs: run.pausedMs,
    endRate: run.endRate,
  };
}
