// The sync engine's decisions, as pure functions: what a watermark may advance to, and whether
// a reconcile's evidence is good enough to mark anything deleted. No I/O here, so every rule is
// unit-testable without a network or a database.

/**
 * The watermark a committed incremental pass may advance to. It starts from the run's START
 * (not its end) minus a clock-skew margin: a message that lands while the pass is paging, or
 * whose timestamp TalkJS assigned on a clock slightly behind ours, is then picked up by the
 * next pass instead of falling between two passes. Never moves backwards.
 */
export function nextWatermark(previous: number | null, runStartedAtMs: number, clockSkewMs: number): number {
  const candidate = runStartedAtMs - clockSkewMs;
  return previous === null ? candidate : Math.max(previous, candidate);
}

export interface SweepEvidence {
  /** The full listing ran to its natural end (an empty page) without any error. */
  listingComplete: boolean;
  /** Live rows in the mirror before the sweep. */
  liveCount: number;
  /** Live rows the complete listing did not return AND for which a GET answered 404. */
  confirmedMissing: number;
  /** Largest share of the mirror one sweep may mark deleted (0..1). */
  maxDeleteShare: number;
  allowMassDelete: boolean;
  /** What the rows are, for the refusal's message (default "conversations"). */
  noun?: string;
}

export type SweepDecision =
  | { mark: true }
  | { mark: false; code: "LISTING_INCOMPLETE" | "MASS_DELETE_REFUSED"; reason: string };

/**
 * Deletions are where mirrors fail their users: a truncated or failed listing must never wipe a
 * backup. Marking is allowed only after a complete listing, and only when the number of rows to
 * mark stays under the configured share of the mirror (unless the operator explicitly allows more).
 */
export function decideSweep(evidence: SweepEvidence): SweepDecision {
  if (!evidence.listingComplete) {
    return {
      mark: false,
      code: "LISTING_INCOMPLETE",
      reason: "the listing did not complete, so absence from it proves nothing",
    };
  }
  if (evidence.confirmedMissing === 0 || evidence.allowMassDelete) return { mark: true };
  const share = evidence.liveCount === 0 ? 1 : evidence.confirmedMissing / evidence.liveCount;
  if (share > evidence.maxDeleteShare) {
    const percent = (x: number) => `${Math.round(x * 1000) / 10}%`;
    return {
      mark: false,
      code: "MASS_DELETE_REFUSED",
      reason:
        `${evidence.confirmedMissing} of ${evidence.liveCount} live ${evidence.noun ?? "conversations"} (${percent(share)}) would be marked ` +
        `deleted, more than the allowed ${percent(evidence.maxDeleteShare)}; re-run with --allow-mass-delete if TalkJS really lost them`,
    };
  }
  return { mark: true };
}
