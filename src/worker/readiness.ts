import type { Store } from "../store/store.ts";
import { BACKFILL_STREAM, MESSAGES_STREAM } from "../sync/streams.ts";
import { count } from "../units.ts";

// What /readyz answers, as a pure decision: the mirror is ready when the database answers, the
// initial backfill has completed, and a sync succeeded recently enough. Read from the database,
// not from this process, so every replica — the one doing the work and the standbys — agrees.

export interface ReadinessInput {
  now: number;
  maxStalenessMs: number;
  /** Whether the database could be read; `error` is a short code (DB_…), never driver text. */
  database: { ok: true } | { ok: false; error: string };
  /** The initial backfill — its conversation pass AND the message pass after it — has completed. */
  backfillComplete: boolean;
  /** While it has not: how far it is ("messages: 120 of 400 conversations"). */
  backfillProgress?: string | undefined;
  /** Last time an incremental sync (or a backfill pass, which seeds the watermarks) succeeded. */
  lastSuccessAt: number | null;
  consecutiveFailures: Record<string, number>;
}

export interface Readiness {
  ready: boolean;
  reasons: string[];
  checks: {
    database: { ok: boolean; error?: string };
    backfillComplete: boolean;
    lastSuccessAt: string | null;
    stalenessMs: number | null;
    maxStalenessMs: number;
  };
  consecutiveFailures: Record<string, number>;
}

export function decideReadiness(input: ReadinessInput): Readiness {
  const reasons: string[] = [];
  const stalenessMs = input.lastSuccessAt === null ? null : Math.max(0, input.now - input.lastSuccessAt);
  if (!input.database.ok) reasons.push(`the database check failed (${input.database.error}); see the log`);
  // Staleness only counts once the initial backfill is complete: until then no sync runs, and
  // "the last sync was hours ago" would say something false about a backfill that is working.
  else if (!input.backfillComplete) {
    reasons.push(
      `initial backfill in progress${input.backfillProgress ? ` (${input.backfillProgress})` : ""}`,
    );
  } else if (stalenessMs === null) reasons.push("no sync has succeeded yet");
  else if (stalenessMs > input.maxStalenessMs) {
    reasons.push(
      `the last successful sync was ${Math.round(stalenessMs / 1000)} s ago, more than the allowed ${Math.round(input.maxStalenessMs / 1000)} s`,
    );
  }
  return {
    ready: reasons.length === 0,
    reasons,
    checks: {
      database: input.database.ok ? { ok: true } : { ok: false, error: input.database.error },
      backfillComplete: input.backfillComplete,
      lastSuccessAt: input.lastSuccessAt === null ? null : new Date(input.lastSuccessAt).toISOString(),
      stalenessMs,
      maxStalenessMs: input.maxStalenessMs,
    },
    consecutiveFailures: input.consecutiveFailures,
  };
}

/**
 * Whether the initial backfill is complete, read from the database: its conversation pass has
 * completed (the backfill stream's watermark is the start of the last complete pass) and — when
 * messages are mirrored — a message pass has succeeded since that pass started. While it runs,
 * how far it is; once complete, when (staleness counts from there until a sync succeeds).
 */
export async function initialBackfill(
  store: Store,
  appId: string,
  mirrorMessages: boolean,
): Promise<{ complete: boolean; progress?: string; completedAt: Date | null }> {
  const backfill = await store.getSyncState(appId, BACKFILL_STREAM);
  if (backfill?.watermark == null) {
    const { live } = await store.stats(appId);
    return { complete: false, progress: `conversations: ${count(live)} mirrored so far`, completedAt: null };
  }
  if (!mirrorMessages) return { complete: true, completedAt: backfill.lastSuccessAt ?? null };
  const messages = await store.getSyncState(appId, MESSAGES_STREAM);
  const done = messages?.lastSuccessAt;
  if (done && done.getTime() >= backfill.watermark.getTime()) return { complete: true, completedAt: done };
  const work = await store.messages.workCounts(appId);
  return {
    complete: false,
    progress: `messages: ${count(work.total - work.pending)} of ${count(work.total)} conversations`,
    completedAt: null,
  };
}
