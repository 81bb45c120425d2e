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

export interface MessageSweepEvidence {
  /** Messages the deep run re-read (the cap is a share of them). */
  reread: number;
  /** Deletions the run proved (inside a re-read's range, or confirmed by a later deep re-read). */
  proven: number;
  /** Largest share (0..1) of the messages re-read one run may mark deleted. */
  maxDeleteShare: number;
  allowMassDelete: boolean;
}

/**
 * The deep message pass's cap: a share of the messages the run re-read, for the whole run — a
 * per-conversation share would forbid deleting one message of a short conversation. Over it,
 * nothing is marked: a listing that misbehaves everywhere must not erase history.
 */
export function decideMessageSweep(evidence: MessageSweepEvidence): SweepDecision {
  if (evidence.proven === 0 || evidence.allowMassDelete) return { mark: true };
  const share = evidence.reread === 0 ? 1 : evidence.proven / evidence.reread;
  if (share <= evidence.maxDeleteShare) return { mark: true };
  const percent = (x: number) => `${Math.round(x * 1000) / 10}%`;
  return {
    mark: false,
    code: "MASS_DELETE_REFUSED",
    reason:
      `${evidence.proven} message deletion(s) against ${evidence.reread} messages re-read (${percent(share)}), ` +
      `more than the allowed ${percent(evidence.maxDeleteShare)}; re-run with --allow-mass-delete if TalkJS really lost them`,
  };
}

/**
 * How a deep re-read of one history judges a mirrored live message it did not return. The API
 * has no GET for one message, so the proof comes from the listing itself: inside the range the
 * re-read covered (newer than the oldest message it returned) absence is proof; older than that,
 * the listing may just have stopped early, so absence counts only once a deep re-read at least
 * `confirmAfterMs` after the first miss again returns nothing that old.
 */
export function judgeMissingMessage(
  message: { createdAt: number; missingSince: number | null },
  oldestReturnedAt: number | null,
  now: number,
  confirmAfterMs: number,
): "proven" | "confirmed" | "note" | "wait" {
  if (oldestReturnedAt !== null && message.createdAt > oldestReturnedAt) return "proven";
  if (message.missingSince === null) return "note";
  return now - message.missingSince >= confirmAfterMs ? "confirmed" : "wait";
}
