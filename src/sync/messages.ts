// The message mirror. After a conversation pass (backfill, sync, reconcile) the conversations
// whose lastMessage differs from what message_sync_state recorded are the ones with new messages;
// for each, the messages endpoint is paged newest first until it reaches messages already mirrored,
// so the cost grows with new messages, not with history length. A conversation's state is saved
// only after all its pages are committed: a crash re-fetches at most the conversations in flight,
// never finished ones. A deep pass (`reconcile --messages`) re-reads every history to the end,
// which is what catches edits and deletions of old messages.
import { MirrorError } from "../errors.ts";
import type { MessageWork } from "../store/store.ts";
import { TalkJSApiError } from "../talkjs/errors.ts";
import type { Message } from "../talkjs/types.ts";
import { mapLimited, mapSettled } from "./limit.ts";
import { isSampled, PageProof } from "./page-proof.ts";
import { decideMessageSweep, judgeMissingMessage } from "./policy.ts";
import { addProgress, clock, type RunSummary, recordedRun, type SyncContext } from "./run.ts";
import { MESSAGES_STREAM } from "./streams.ts";

/** The messages endpoint's largest page. */
export const MESSAGE_PAGE_SIZE = 100;
/** Conversations whose messages are fetched at once (the client's rate limit still applies). */
export const DEFAULT_MESSAGE_CONCURRENCY = 4;
/**
 * First page of an incremental fetch: most conversations in a sync got one or two new messages,
 * so a small first page keeps the re-read overlap small; later pages use the full size.
 */
export const INCREMENTAL_FIRST_PAGE = 10;
/** Conversations read from the database per batch: memory stays flat whatever the app's size. */
const WORK_BATCH = 200;

/** Default wait before an unproven absence (older than a re-read reached) becomes a deletion. */
export const DEFAULT_CONFIRM_AFTER_MS = 3_600_000;

/** A deep pass's deletion guards (see judgeMissingMessage and decideMessageSweep). */
export interface MessageDeletionOptions {
  /** Largest share (0..1) of the messages the run re-read it may mark deleted. */
  maxDeleteShare: number;
  allowMassDelete: boolean;
  /** An unproven absence is marked only when a deep re-read this long after the first miss confirms it. */
  confirmAfterMs?: number;
}

export interface MessagePassOptions {
  /** Re-read every conversation's whole history (edits and deletions of old messages). */
  deep?: boolean;
  /** Deep only: the deletion guards (default: share 0.1, confirm after 1 h). */
  deletions?: MessageDeletionOptions;
  concurrency?: number;
  pageSize?: number;
}

export interface MessagePassSummary extends RunSummary {
  deep: boolean;
  /** Conversations whose messages were fetched. */
  conversations: number;
  /** Conversations gone at TalkJS by the time their messages were asked for (reconcile marks them). */
  vanished: number;
  /** Deep: mirrored messages older than a re-read reached, recorded as missing (not marked yet). */
  unproven: number;
  /** Deep: conversations whose history could not be read (an HTTP failure): nothing marked for them. */
  failed: number;
}

/**
 * Whether paging newest-first can stop after this page: it reached a message older than the
 * newest one already mirrored, so everything after it is mirrored too. Messages AT that newest
 * timestamp are re-read (a new message can share its millisecond): the overlap costs a few rows,
 * a skipped message would cost the backup.
 */
export function reachedKnownHistory(page: readonly Message[], newestKnownAt: number | null): boolean {
  if (newestKnownAt === null) return false;
  return page.some((m) => m.createdAt < newestKnownAt);
}

export async function runMessagePass(
  ctx: SyncContext,
  options: MessagePassOptions = {},
): Promise<MessagePassSummary> {
  const deep = options.deep === true;
  const concurrency = options.concurrency ?? DEFAULT_MESSAGE_CONCURRENCY;
  const pageSize = options.pageSize ?? MESSAGE_PAGE_SIZE;
  const deletions = {
    maxDeleteShare: options.deletions?.maxDeleteShare ?? 0.1,
    allowMassDelete: options.deletions?.allowMassDelete === true,
    confirmAfterMs: options.deletions?.confirmAfterMs ?? DEFAULT_CONFIRM_AFTER_MS,
  };
  let conversations = 0;
  let vanished = 0;
  let unproven = 0;
  let failed = 0;
  let proven = 0;
  const summary = await recordedRun(ctx, "messages", async (progress) => {
    const proof = await PageProof.load(ctx);
    let afterId: string | undefined;
    for (;;) {
      // Incremental: only the work queue (filled when a conversation pass writes a changed
      // lastMessage), so an idle pass reads nothing. Deep: every conversation with messages.
      let batch: MessageWork[];
      if (deep) {
        batch = await ctx.store.messages.listWork(ctx.appId, {
          changedOnly: false,
          limit: WORK_BATCH,
          ...(afterId !== undefined ? { afterId } : {}),
        });
        if (batch.length === 0) break;
        afterId = batch.at(-1)?.conversationId;
      } else {
        const queued = await ctx.store.messages.listQueuedWork(ctx.appId, {
          limit: WORK_BATCH,
          ...(afterId !== undefined ? { afterId } : {}),
        });
        if (queued.lastKey === undefined) break;
        afterId = queued.lastKey;
        batch = queued.work;
      }
      await mapLimited(batch, concurrency, async (work) => {
        let done: Awaited<ReturnType<typeof mirrorConversationMessages>>;
        try {
          done = await mirrorConversationMessages(
            ctx,
            work,
            { deep, pageSize, proof, runId: progress.runId, confirmAfterMs: deletions.confirmAfterMs },
            (page, counts) => addProgress(ctx, progress, { ...counts, pages: 1, fetched: page }),
          );
        } catch (error) {
          // A deep pass goes on past a history it could not read (the client already retried):
          // nothing is decided for that conversation, and the run ends failed after the others.
          if (!deep || !(error instanceof TalkJSApiError) || ctx.signal?.aborted === true) throw error;
          failed += 1;
          ctx.logger.warn(
            { conversationId: work.conversationId, err: `[${error.code}] ${error.message}` },
            "message history could not be read; nothing marked deleted for this conversation",
          );
          return;
        }
        if (done === "vanished") vanished += 1;
        else {
          conversations += 1;
          proven += done.proven;
          unproven += done.unproven;
        }
      });
    }
    if (proven > 0) {
      const decision = decideMessageSweep({
        reread: progress.fetched,
        proven,
        maxDeleteShare: deletions.maxDeleteShare,
        allowMassDelete: deletions.allowMassDelete,
      });
      if (!decision.mark) {
        throw new MirrorError(decision.code, `no message was marked deleted: ${decision.reason}`);
      }
      progress.markedDeleted = await ctx.store.messages.markPending(
        ctx.appId,
        progress.runId,
        new Date(clock(ctx)),
      );
      ctx.logger.info(
        { markedDeleted: progress.markedDeleted },
        "messages deleted at TalkJS marked deleted in the mirror",
      );
    }
    if (unproven > 0) {
      ctx.logger.warn(
        { unproven, confirmAfterMs: deletions.confirmAfterMs },
        "messages older than a re-read reached are missing: marked only if a deep re-read after RECONCILE_CONFIRM_AFTER confirms it",
      );
    }
    if (failed > 0) {
      throw new MirrorError(
        "MESSAGES_INCOMPLETE",
        `${failed} conversation(s)' message histories could not be read; nothing was marked deleted for them`,
      );
    }
    await ctx.store.saveSyncState(ctx.appId, MESSAGES_STREAM, {
      cursor: null,
      lastSuccessAt: new Date(clock(ctx)),
    });
  });
  return { ...summary, deep, conversations, vanished, unproven, failed };
}

/**
 * The new messages of a few conversations (webhook fetches): the incremental fetch of each, outside
 * a recorded run (no sync_runs row per webhook). One conversation's failure does not stop the
 * others: returns how many messages were read and the conversations that failed, with their error.
 */
export async function mirrorMessagesOf(
  ctx: SyncContext,
  work: readonly MessageWork[],
  concurrency = DEFAULT_MESSAGE_CONCURRENCY,
): Promise<{ read: number; failed: Map<string, unknown> }> {
  const failed = new Map<string, unknown>();
  if (work.length === 0) return { read: 0, failed };
  const proof = await PageProof.load(ctx);
  let read = 0;
  const results = await mapSettled(work, concurrency, (w) =>
    mirrorConversationMessages(
      ctx,
      w,
      { deep: false, pageSize: MESSAGE_PAGE_SIZE, proof, confirmAfterMs: DEFAULT_CONFIRM_AFTER_MS },
      (page) => {
        read += page;
      },
    ),
  );
  results.forEach((r, i) => {
    if (!r.ok) failed.set((work[i] as MessageWork).conversationId, r.error);
  });
  return { read, failed };
}

/**
 * Fetches one conversation's new messages (or, deep, all of them), newest first, committing each
 * page; then records the conversation as complete up to `work.lastMessageId`.
 */
async function mirrorConversationMessages(
  ctx: SyncContext,
  work: MessageWork,
  opts: { deep: boolean; pageSize: number; proof: PageProof; runId?: number; confirmAfterMs: number },
  onPage: (size: number, counts: { inserted: number; updated: number; unchanged: number }) => void,
): Promise<"vanished" | { proven: number; unproven: number }> {
  const { client, store, appId } = ctx;
  const id = work.conversationId;
  const newestKnownAt = opts.deep ? null : (work.newestKnownAt?.getTime() ?? null);
  const seen = opts.deep ? new Set<string>() : null;
  let newest = work.newestKnownAt?.getTime() ?? null;
  let oldest: number | null = null;
  let startingAfter: string | undefined;
  let restarted = false;
  const { proof } = opts;
  // The page before was shorter than a limit the proof covers: this one should be empty.
  let afterShort: { limit: number } | null = null;
  for (;;) {
    let page: Message[];
    const limit =
      startingAfter === undefined && newestKnownAt !== null
        ? Math.min(opts.pageSize, INCREMENTAL_FIRST_PAGE)
        : opts.pageSize;
    try {
      page = await client.listMessages(
        id,
        { limit, ...(startingAfter !== undefined ? { startingAfter } : {}) },
        ctx.signal,
      );
    } catch (error) {
      if (error instanceof TalkJSApiError && error.status === 404) {
        await store.messages.dequeue(appId, [id]); // gone at TalkJS: reconcile marks it
        return "vanished";
      }
      // The anchor message was deleted between two pages: TalkJS refuses an unknown startingAfter.
      // Start this conversation over once (already-mirrored rows cost no write).
      if (
        error instanceof TalkJSApiError &&
        error.status === 400 &&
        startingAfter !== undefined &&
        !restarted
      ) {
        restarted = true;
        startingAfter = undefined;
        afterShort = null;
        seen?.clear();
        oldest = null;
        continue;
      }
      throw error;
    }
    if (afterShort !== null) {
      if (page.length === 0) await proof.cleanSample(ctx);
      else await proof.contradicted(ctx, id, afterShort.limit);
      afterShort = null;
    }
    // An empty page ends a history; a short one only under the proven page size (./page-proof.ts).
    if (page.length === 0) break;
    const foreign = page.find((m) => m.conversationId !== id);
    if (foreign) {
      throw new MirrorError(
        "MESSAGES_MISMATCH",
        `TalkJS answered messages of conversation "${foreign.conversationId}" when asked for "${id}"; nothing of that page was written`,
      );
    }
    const counts = await store.messages.upsert(appId, page, {
      seenAt: new Date(clock(ctx)),
      ...(opts.runId !== undefined ? { countInRun: { runId: opts.runId, pages: 1 } } : {}),
    });
    onPage(page.length, counts);
    for (const m of page) {
      seen?.add(m.id);
      newest = newest === null ? m.createdAt : Math.max(newest, m.createdAt);
      oldest = oldest === null ? m.createdAt : Math.min(oldest, m.createdAt);
    }
    if (reachedKnownHistory(page, newestKnownAt)) break;
    if (page.length >= limit) await proof.fullPage(ctx, limit);
    else if (proof.covers(limit)) {
      // Never in a deep pass (it decides deletions), and 1 in 50 histories asks once more.
      if (!opts.deep && !isSampled(id, work.lastMessageId)) break;
      afterShort = { limit };
    }
    startingAfter = page.at(-1)?.id;
  }
  const verdicts = { proven: 0, unproven: 0 };
  if (seen) {
    // The listing ended with an empty page, but a server may end it early: only absence inside the
    // range it covered proves a deletion (judgeMissingMessage); the run's end applies the cap.
    const now = clock(ctx);
    const pending: string[] = [];
    const note: string[] = [];
    const back: string[] = [];
    for (const row of await store.messages.liveRows(appId, id)) {
      if (seen.has(row.id)) {
        if (row.missingSince !== null) back.push(row.id);
        continue;
      }
      const verdict = judgeMissingMessage(
        { createdAt: row.createdAt.getTime(), missingSince: row.missingSince?.getTime() ?? null },
        oldest,
        now,
        opts.confirmAfterMs,
      );
      if (verdict === "proven" || verdict === "confirmed") pending.push(row.id);
      else {
        verdicts.unproven += 1;
        if (verdict === "note") note.push(row.id);
      }
    }
    if (back.length > 0) await store.messages.clearMissing(appId, back);
    if (note.length > 0) await store.messages.noteMissing(appId, note, new Date(now));
    if (pending.length > 0 && opts.runId !== undefined) {
      await store.messages.notePendingDelete(appId, pending, opts.runId);
    }
    verdicts.proven = pending.length;
  }
  await store.messages.saveState(appId, id, {
    lastMessageId: work.lastMessageId,
    newestMessageAt: newest === null ? null : new Date(newest),
    syncedAt: new Date(clock(ctx)),
    deep: opts.deep,
  });
  return verdicts;
}
