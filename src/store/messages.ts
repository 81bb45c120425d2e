// The messages half of the store: page upserts (the shared batch upsert) and the per-conversation
// state that makes the message mirror incremental and resumable.
import type { Message } from "../talkjs/types.ts";
import { batchUpsert, markDeletedRows } from "./batch-upsert.ts";
import type { FileStore } from "./files.ts";
import type { Db } from "./open.ts";
import { erasedIds, redactMessages } from "./privacy.ts";
import {
  clearMissing,
  MESSAGES,
  markPendingDeleted,
  messageStats,
  messageWork,
  messageWorkCounts,
  noteMissing,
  notePendingDelete,
  requeueHistoriesSince,
} from "./sql/messages.ts";
import { chunk, MAX_PARAMS, toDate, toNumber } from "./sql/shared.ts";
import { addTotals } from "./sql/totals.ts";
import {
  countWork,
  dequeueWork,
  enqueueHistoriesSince,
  queuedMessageWork,
  WORK_KINDS,
} from "./sql/work-queue.ts";
import type { LiveMessageRow, MessageStats, MessageWork, StoredMessage, UpsertCounts } from "./types.ts";

export class MessageStore {
  readonly #db: Db;
  readonly #files: FileStore;

  constructor(db: Db, files: FileStore) {
    this.#db = db;
    this.#files = files;
  }

  /**
   * Upserts one page of messages in one transaction; returns what changed. An erased sender's
   * messages are blanked on the way in (./privacy.ts). The files of new and changed messages are
   * registered in the same transaction, so none is ever missed.
   */
  async upsert(
    appId: string,
    messages: Message[],
    opts: { seenAt: Date; countInRun?: { runId: number; pages: number } },
  ): Promise<UpsertCounts> {
    const erased = await erasedIds(this.#db, appId);
    return batchUpsert(this.#db, MESSAGES, appId, redactMessages(messages, erased), {
      seenAt: opts.seenAt,
      countInRun: opts.countInRun,
      afterWrite: (tx, written) => this.#files.register(appId, written, opts.seenAt, tx),
    });
  }

  /**
   * Live conversations with messages whose mirrored messages are not complete up to their current
   * lastMessage (`changedOnly`), or all live conversations with messages (a deep pass) — keyset
   * paged by conversation id, so memory stays flat whatever the app's size.
   */
  async listWork(
    appId: string,
    opts: { changedOnly: boolean; limit: number; afterId?: string },
  ): Promise<MessageWork[]> {
    const rows = await this.#db.client.$queryRaw<
      { conversation_id: string; last_message_id: string | null; newest_message_at: unknown }[]
    >(messageWork(appId, opts));
    return rows.map((r) => ({
      conversationId: r.conversation_id,
      lastMessageId: r.last_message_id,
      newestKnownAt: toDate(r.newest_message_at),
    }));
  }

  /**
   * The incremental pass's work, from the work queue only (an idle mirror reads nothing), keyset
   * paged by conversation id. Queued conversations with nothing left to do (deleted, or caught up)
   * are dequeued here and not returned.
   */
  async listQueuedWork(
    appId: string,
    opts: { limit: number; afterId?: string },
  ): Promise<{ work: MessageWork[]; lastKey?: string }> {
    const rows = await this.#db.client.$queryRaw<
      { conversation_id: string; last_message_id: string | null; newest_message_at: unknown }[]
    >(queuedMessageWork(appId, opts.limit, opts.afterId));
    const stale = rows.filter((r) => r.last_message_id === null).map((r) => r.conversation_id);
    if (stale.length > 0) await this.dequeue(appId, stale);
    const work = rows
      .filter((r) => r.last_message_id !== null)
      .map((r) => ({
        conversationId: r.conversation_id,
        lastMessageId: r.last_message_id,
        newestKnownAt: toDate(r.newest_message_at),
      }));
    const lastKey = rows.at(-1)?.conversation_id;
    return lastKey === undefined ? { work } : { work, lastKey };
  }

  /** Removes conversations from the message work queue (done, or gone at TalkJS). */
  async dequeue(appId: string, conversationIds: readonly string[]): Promise<void> {
    for (const part of chunk(conversationIds, MAX_PARAMS)) {
      await this.#db.client.$executeRaw(dequeueWork(appId, WORK_KINDS.messages, part));
    }
  }

  /** Conversations queued for the message pass. */
  async queued(appId: string): Promise<number> {
    const [row] = await this.#db.client.$queryRaw<Record<string, unknown>[]>(
      countWork(appId, WORK_KINDS.messages),
    );
    return toNumber(row?.n);
  }

  /** Records that `conversationId`'s messages are mirrored up to its lastMessage `lastMessageId`. */
  async saveState(
    appId: string,
    conversationId: string,
    state: { lastMessageId: string | null; newestMessageAt: Date | null; syncedAt: Date; deep: boolean },
  ): Promise<void> {
    const data = {
      lastMessageId: state.lastMessageId,
      newestMessageAt: state.newestMessageAt,
      syncedAt: state.syncedAt,
      ...(state.deep ? { deepSyncedAt: state.syncedAt } : {}),
    };
    // The state and the dequeue commit together: a crash leaves the conversation queued, never lost.
    // (A batch transaction: one round trip, not an interactive transaction's several.)
    await this.#db.client.$transaction([
      this.#db.client.messageSyncState.upsert({
        where: { appId_conversationId: { appId, conversationId } },
        create: { appId, conversationId, ...data },
        update: data,
      }),
      this.#db.client.$executeRaw(dequeueWork(appId, WORK_KINDS.messages, [conversationId])),
    ]);
  }

  /**
   * Re-queues for a full re-read every history finished since `since`; returns how many. Both in
   * one transaction: the state forgets how far it read, the work queue makes the next pass see it.
   */
  async requeueSince(appId: string, since: Date): Promise<number> {
    const { pg, client } = this.#db;
    const [requeued] = await client.$transaction([
      client.$executeRaw(requeueHistoriesSince(pg, appId, since)),
      client.$executeRaw(enqueueHistoriesSince(pg, appId, since, new Date())),
    ]);
    return requeued;
  }

  /** Ids of the live (not deleted) messages mirrored for one conversation. */
  async liveIds(appId: string, conversationId: string): Promise<string[]> {
    const rows = await this.#db.client.message.findMany({
      where: { appId, conversationId, deletedAt: null },
      select: { id: true },
    });
    return rows.map((r) => r.id);
  }

  /** The live messages mirrored for one conversation, with when a deep re-read last missed them. */
  async liveRows(appId: string, conversationId: string): Promise<LiveMessageRow[]> {
    return this.#db.client.message.findMany({
      where: { appId, conversationId, deletedAt: null },
      select: { id: true, createdAt: true, missingSince: true },
    });
  }

  /** Records `at` as when these messages were first missed (kept if already recorded). */
  async noteMissing(appId: string, ids: readonly string[], at: Date): Promise<void> {
    for (const part of chunk(ids, MAX_PARAMS))
      await this.#db.client.$executeRaw(noteMissing(this.#db.pg, appId, part, at));
  }

  /** Forgets a recorded absence of messages a re-read returned again. */
  async clearMissing(appId: string, ids: readonly string[]): Promise<void> {
    for (const part of chunk(ids, MAX_PARAMS)) await this.#db.client.$executeRaw(clearMissing(appId, part));
  }

  /** Holds proven deletions for run `runId`; marked (or not) by `markPending` at the run's end. */
  async notePendingDelete(appId: string, ids: readonly string[], runId: number): Promise<void> {
    for (const part of chunk(ids, MAX_PARAMS))
      await this.#db.client.$executeRaw(notePendingDelete(appId, part, runId));
  }

  /** Marks deleted what run `runId` proved; returns how many. */
  markPending(appId: string, runId: number, at: Date): Promise<number> {
    return this.#db.client.$transaction(async (tx) => {
      const marked = await tx.$executeRaw(markPendingDeleted(this.#db.pg, appId, runId, at));
      if (marked > 0) await tx.$executeRaw(addTotals(this.#db.pg, appId, "messages", -marked, marked));
      return marked;
    });
  }

  /** Sets deleted_at on live messages among `ids`; returns how many changed. */
  markDeleted(appId: string, ids: string[], at: Date): Promise<number> {
    return markDeletedRows(this.#db, MESSAGES, appId, ids, at);
  }

  async get(appId: string, id: string): Promise<StoredMessage | null> {
    return this.#db.client.message.findUnique({
      where: { appId_id: { appId, id } },
      select: {
        appId: true,
        id: true,
        conversationId: true,
        senderId: true,
        type: true,
        text: true,
        createdAt: true,
        editedAt: true,
        raw: true,
        contentHash: true,
        firstSeenAt: true,
        syncedAt: true,
        updatedAt: true,
        deletedAt: true,
      },
    });
  }

  async stats(appId: string): Promise<MessageStats> {
    const [row] = await this.#db.client.$queryRaw<Record<string, unknown>[]>(messageStats(appId));
    return { live: toNumber(row?.live), deleted: toNumber(row?.deleted) };
  }

  /** Conversations with messages, and how many of them still have messages to fetch. */
  async workCounts(appId: string): Promise<{ total: number; pending: number }> {
    const [row] = await this.#db.client.$queryRaw<Record<string, unknown>[]>(messageWorkCounts(appId));
    return { total: toNumber(row?.total), pending: toNumber(row?.pending) };
  }
}
