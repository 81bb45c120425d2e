// The conversations half of the store: page upserts (the shared batch upsert, with participants
// replaced as a set and the stream's checkpoint in the same transaction), reads, and what
// reconcile needs (rows a run has not seen, confirmed deletions).
import type { Conversation } from "../talkjs/types.ts";
import { batchUpsert, markDeletedRows } from "./batch-upsert.ts";
import type { Db, Tx } from "./open.ts";
import { erasedIds, redactConversations } from "./privacy.ts";
import {
  analyzeConversations,
  CONVERSATIONS,
  conversationStats,
  deleteParticipants,
  insertParticipants,
  PARTICIPANT_COLUMNS,
  participantRow,
} from "./sql/conversations.ts";
import { saveCheckpoint } from "./sql/runs.ts";
import { chunk, MAX_PARAMS, toDate, toNumber } from "./sql/shared.ts";
import { enqueueChangedConversations } from "./sql/work-queue.ts";
import { unseenLive } from "./sweep.ts";
import type { StoredConversation, StoreStats, UpsertCounts, UpsertOptions } from "./types.ts";

export class ConversationStore {
  readonly #db: Db;

  constructor(db: Db) {
    this.#db = db;
  }

  /** Upserts one page in one transaction (with `opts.checkpoint`, if any); returns what changed. */
  async upsert(appId: string, conversations: Conversation[], opts: UpsertOptions): Promise<UpsertCounts> {
    const { checkpoint, seenAt } = opts;
    // An erased user's lastMessage is blanked on the way in (./privacy.ts).
    const erased = await erasedIds(this.#db, appId);
    return batchUpsert(this.#db, CONVERSATIONS, appId, redactConversations(conversations, erased), {
      seenAt,
      runId: opts.runId,
      countInRun: opts.countInRun,
      afterWrite: async (tx, written) => {
        await replaceParticipants(tx, appId, written);
        await queueMessageWork(tx, this.#db.pg, appId, written, seenAt);
      },
      ...(checkpoint
        ? {
            beforeCommit: async (tx: Tx) => {
              await tx.$executeRaw(saveCheckpoint(this.#db.pg, appId, checkpoint, seenAt));
            },
          }
        : {}),
    });
  }

  async get(appId: string, id: string): Promise<StoredConversation | null> {
    const row = await this.#db.client.conversation.findUnique({
      where: { appId_id: { appId, id } },
      include: { participants: { orderBy: { userId: "asc" } } },
    });
    if (!row) return null;
    return {
      ...row,
      participants: row.participants.map(({ userId, access, notify }) => ({ userId, access, notify })),
    };
  }

  countLive(appId: string): Promise<number> {
    return this.#db.client.conversation.count({ where: { appId, deletedAt: null } });
  }

  async listUnseenLive(appId: string, runId: number, limit: number, afterId?: string): Promise<string[]> {
    const rows = await this.#db.client.conversation.findMany({
      where: unseenLive(appId, runId, afterId),
      select: { id: true },
      orderBy: { id: "asc" },
      take: limit,
    });
    return rows.map((r) => r.id);
  }

  countUnseenLive(appId: string, runId: number): Promise<number> {
    return this.#db.client.conversation.count({ where: unseenLive(appId, runId) });
  }

  markDeleted(appId: string, ids: string[], at: Date): Promise<number> {
    return markDeletedRows(this.#db, CONVERSATIONS, appId, ids, at);
  }

  async stats(appId: string): Promise<StoreStats> {
    const [row] = await this.#db.client.$queryRaw<Record<string, unknown>[]>(conversationStats(appId));
    return {
      live: toNumber(row?.live),
      deleted: toNumber(row?.deleted),
      participants: toNumber(row?.participants),
      newestActivityAt: toDate(row?.newest_activity_at),
      lastSyncedAt: toDate(row?.last_synced_at),
    };
  }

  async analyze(): Promise<void> {
    if (this.#db.pg) await this.#db.client.$executeRaw(analyzeConversations());
  }
}

/**
 * Participants of changed/new conversations are replaced as a set: delete all, insert the
 * current ones (the batch upsert's after-write hook).
 */
async function replaceParticipants(tx: Tx, appId: string, written: Conversation[]): Promise<void> {
  for (const ids of chunk(
    written.map((c) => c.id),
    MAX_PARAMS,
  )) {
    await tx.$executeRaw(deleteParticipants(appId, ids));
  }
  const rows = written.flatMap((c) =>
    Object.entries(c.participants ?? {}).map(([userId, p]) => participantRow(appId, c.id, userId, p)),
  );
  for (const part of chunk(rows, Math.floor(MAX_PARAMS / PARTICIPANT_COLUMNS))) {
    await tx.$executeRaw(insertParticipants(part));
  }
}

/**
 * The message pass's work, queued in the page's transaction: written conversations with a
 * lastMessage whose messages are behind it (the statement checks message_sync_state).
 */
async function queueMessageWork(
  tx: Tx,
  pg: boolean,
  appId: string,
  written: Conversation[],
  at: Date,
): Promise<void> {
  const ids = written.filter((c) => c.lastMessage != null).map((c) => c.id);
  for (const part of chunk(ids, MAX_PARAMS))
    await tx.$executeRaw(enqueueChangedConversations(pg, appId, part, at));
}
