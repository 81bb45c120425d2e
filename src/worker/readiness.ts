// What /readyz answers, as a pure decision: the mirror is ready when the database answers, the
// initial backfill has completed, and a sync succeeded recently enough. Read from the database,
// not from this process, so every replica — the one doing the work and the standbys — agrees.

export interface ReadinessInput {
  now: number;
  maxStalenessMs: number;
  /** Whether the database could be read; `error` is a short code (DB_…), never driver text. */
  database: { ok: true } | { ok: false; error: string };
  backfillComplete: boolean;
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
  else if (!input.backfillComplete) reasons.push("the initial backfill has not completed yet");
  else if (stalenessMs === null) reasons.push("no sync has succeeded yet");
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
