// The proven page size of the messages endpoint: the one narrow exception to "only an empty page
// ends a listing" (API reference, page size). A server may clamp `limit` silently, so a short page
// proves nothing by itself — but once the server has answered a FULL page of size N, its clamp is
// at least N, and a later page shorter than a requested limit ≤ N is the end of the history. That
// saves the closing empty request, about half of a message backfill's requests.
// Kept safe by: the proof persisted per app with its date (a one-minute sync rarely sees a full
// page); 1 in SAMPLE_EVERY histories still asks for its closing page; a non-empty closing page
// revokes the proof, logs a warning and re-queues every history finished since the last clean
// sample (a superset of those closed early) for a full re-read. The deep pass that decides
// deletions (`reconcile --messages`) never closes early.

import { clock, type SyncContext } from "./run.ts";
import { MESSAGE_PAGE_PROOF_STREAM } from "./streams.ts";

/** One history in this many still gets its closing request. */
export const SAMPLE_EVERY = 50;

interface ProofState {
  /** Largest page size the server has answered in full. */
  pageSize: number;
  provenAt: number;
  /** Last time a closing request confirmed the proof (or when it was proven). */
  cleanAt: number;
}

/**
 * Whether this history (at this last message) is one of the 1 in SAMPLE_EVERY that still gets its
 * closing request. A hash, not a counter: the same share whatever the size of each run, no state.
 */
export function isSampled(conversationId: string, lastMessageId: string | null): boolean {
  let h = 0x811c9dc5;
  for (const ch of `${conversationId}\n${lastMessageId ?? ""}`) {
    h ^= ch.codePointAt(0) as number;
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h % SAMPLE_EVERY === 0;
}

export class PageProof {
  private constructor(private state: ProofState | null) {}

  static async load(ctx: SyncContext): Promise<PageProof> {
    const row = await ctx.store.getSyncState(ctx.appId, MESSAGE_PAGE_PROOF_STREAM);
    let state: ProofState | null = null;
    if (row?.cursor) {
      try {
        const parsed = JSON.parse(row.cursor) as Partial<ProofState>;
        if (
          typeof parsed.pageSize === "number" &&
          typeof parsed.provenAt === "number" &&
          typeof parsed.cleanAt === "number"
        )
          state = parsed as ProofState;
      } catch {
        // An unreadable proof is no proof: histories are read to their empty page.
      }
    }
    return new PageProof(state);
  }

  get pageSize(): number | null {
    return this.state?.pageSize ?? null;
  }

  /** Whether a page shorter than `limit` may end a history (the server answered `limit` in full before). */
  covers(limit: number): boolean {
    return this.state !== null && limit <= this.state.pageSize;
  }

  /** The server answered a full page of `limit`: its clamp is at least that. */
  async fullPage(ctx: SyncContext, limit: number): Promise<void> {
    if (this.state !== null && limit <= this.state.pageSize) return;
    const now = clock(ctx);
    this.state = { pageSize: limit, provenAt: now, cleanAt: this.state?.cleanAt ?? now };
    await this.save(ctx);
  }

  /** A closing request after a short page came back empty: the proof still holds. */
  async cleanSample(ctx: SyncContext): Promise<void> {
    if (this.state === null) return;
    this.state = { ...this.state, cleanAt: clock(ctx) };
    await this.save(ctx);
  }

  /**
   * A page after a short one was not empty: the server clamps below the proven size (or changed).
   * Revokes the proof and re-queues every history finished since the last clean sample.
   */
  async contradicted(ctx: SyncContext, conversationId: string, limit: number): Promise<void> {
    const state = this.state;
    if (state === null) return;
    this.state = null;
    await this.save(ctx);
    const requeued = await ctx.store.messages.requeueSince(ctx.appId, new Date(state.cleanAt));
    ctx.logger.warn(
      { conversationId, limit, provenPageSize: state.pageSize, requeued, since: new Date(state.cleanAt) },
      "TalkJS answered more messages after a short page: the proven page size is revoked and histories finished since the last clean sample are re-queued for a full re-read",
    );
  }

  private async save(ctx: SyncContext): Promise<void> {
    await ctx.store.saveSyncState(ctx.appId, MESSAGE_PAGE_PROOF_STREAM, {
      cursor: this.state === null ? null : JSON.stringify(this.state),
    });
  }
}
