// The messages half of the store: page upserts (the shared batch upsert) and the per-conversation
// state that makes the message mirror incremental and resumable.
import type { Message } from "../talkjs/types.ts";
import { batchUpsert, markDeletedRows } from "./batch-upsert.ts";
import type { Db } from "./open.ts";
import { MESSAGES, messageStats, messageWork, messageWorkCounts } from "./sql/messages.ts";
import { toDate, toNumber } from "./sql/shared.ts";
import type { MessageStats, MessageWork, StoredMessage, UpsertCounts } from "./types.ts";

export class MessageStore {
  readonly #db: Db;

  constructor(db: Db) {
    this.#db = db;
  }

  /** Upserts one page of messages in one transaction; returns what changed. */
  upsert(appId: string, messages: Message[], opts: { seenAt: Date }): Promise<UpsertCounts> {
    return batchUpsert(this.#db, MESSAGES, appId, messages, { seenAt: opts.seenAt });
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
      { conversation_id: string; last_message_id: string; newest_message_at: unknown }[]
    >(messageWork(appId, opts));
    return rows.map((r) => ({
      conversationId: r.conversation_id,
      lastMessageId: r.last_message_id,
      newestKnownAt: toDate(r.newest_message_at),
    }));
  }

  /** Records that `conversationId`'s messages are mirrored up to its lastMessage `lastMessageId`. */
  async saveState(
    appId: string,
    conversationId: string,
    state: { lastMessageId: string; newestMessageAt: Date | null; syncedAt: Date; deep: boolean },
  ): Promise<void> {
    const data = {
      lastMessageId: state.lastMessageId,
      newestMessageAt: state.newestMessageAt,
      syncedAt: state.syncedAt,
      ...(state.deep ? { deepSyncedAt: state.syncedAt } : {}),
    };
    await this.#db.client.messageSyncState.upsert({
      where: { appId_conversationId: { appId, conversationId } },
      create: { appId, conversationId, ...data },
      update: data,
    });
  }

  /** Ids of the live (not deleted) messages mirrored for one conversation. */
  async liveIds(appId: string, conversationId: string): Promise<string[]> {
    const rows = await this.#db.client.message.findMany({
      where: { appId, conversationId, deletedAt: null },
      select: { id: true },
    });
    return rows.map((r) => r.id);
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
