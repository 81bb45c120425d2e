// The messages half of the store: batch upserts of message pages (same technique as
// conversations: one multi-row INSERT … ON CONFLICT per statement, unchanged rows skipped by
// content hash, an older copy never overwrites a newer one) and the per-conversation state that
// makes the message mirror incremental and resumable.
import { Prisma, type PrismaClient } from "../generated/prisma/client.ts";
import type { Message } from "../talkjs/types.ts";
import { contentHash } from "./hash.ts";
import { chunk, MAX_PARAMS, sqlDistinct, sqlJson, sqlTimestamp } from "./sql.ts";

export interface MessageUpsertCounts {
  inserted: number;
  updated: number;
  unchanged: number;
}

/** A conversation whose messages need fetching, with how far they are already mirrored. */
export interface MessageWork {
  conversationId: string;
  /** The conversation's current lastMessage id (what the state records once done). */
  lastMessageId: string;
  /** createdAt of the newest message mirrored for it; null when none is. */
  newestKnownAt: Date | null;
}

export interface StoredMessage {
  appId: string;
  id: string;
  conversationId: string;
  senderId: string | null;
  type: string;
  text: string | null;
  createdAt: Date;
  editedAt: Date | null;
  raw: unknown;
  contentHash: string;
  firstSeenAt: Date;
  syncedAt: Date;
  updatedAt: Date;
  deletedAt: Date | null;
}

export interface MessageStats {
  live: number;
  deleted: number;
}

const MESSAGE_COLUMNS = 21;

type Client = PrismaClient;
type Tx = Prisma.TransactionClient;

function toDate(value: unknown): Date | null {
  if (value === null || value === undefined) return null;
  return value instanceof Date ? value : new Date(String(value));
}

export class MessageStore {
  readonly #client: Client;
  readonly #pg: boolean;

  constructor(client: Client, pg: boolean) {
    this.#client = client;
    this.#pg = pg;
  }

  /** Upserts one page of messages in one transaction; returns what changed. */
  async upsert(appId: string, messages: Message[], opts: { seenAt: Date }): Promise<MessageUpsertCounts> {
    const byId = new Map<string, { message: Message; hash: string }>();
    for (const m of messages) byId.set(m.id, { message: m, hash: contentHash(m) });
    const rows = [...byId.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, r]) => r);
    if (rows.length === 0) return { inserted: 0, updated: 0, unchanged: 0 };
    return this.#client.$transaction(
      async (tx) => {
        const counts: MessageUpsertCounts = { inserted: 0, updated: 0, unchanged: 0 };
        for (const part of chunk(rows, Math.floor(MAX_PARAMS / MESSAGE_COLUMNS))) {
          const ids = part.map((r) => r.message.id);
          const existing = new Set(
            (await tx.message.findMany({ where: { appId, id: { in: ids } }, select: { id: true } })).map(
              (r) => r.id,
            ),
          );
          const written = new Set((await this.#insertChanged(tx, appId, part, opts.seenAt)).map((r) => r.id));
          const unchanged = ids.filter((id) => !written.has(id));
          if (unchanged.length > 0) {
            const seen = sqlTimestamp(this.#pg, opts.seenAt);
            await tx.$executeRaw`UPDATE messages
              SET synced_at = CASE WHEN synced_at < ${seen} THEN ${seen} ELSE synced_at END
              WHERE app_id = ${appId} AND id IN (${Prisma.join(unchanged)})`;
          }
          for (const id of ids) {
            if (!written.has(id)) counts.unchanged++;
            else if (existing.has(id)) counts.updated++;
            else counts.inserted++;
          }
        }
        return counts;
      },
      { timeout: 120_000, maxWait: 60_000 },
    );
  }

  #insertChanged(
    tx: Tx,
    appId: string,
    rows: { message: Message; hash: string }[],
    seenAt: Date,
  ): Promise<{ id: string }[]> {
    const ts = (v: number | null | undefined) =>
      sqlTimestamp(this.#pg, v === null || v === undefined ? null : new Date(v));
    const json = (v: unknown) => sqlJson(this.#pg, v);
    const seen = sqlTimestamp(this.#pg, seenAt);
    const values = rows.map(({ message: m, hash }) => {
      return Prisma.sql`(${appId}, ${m.id}, ${m.conversationId}, ${m.senderId ?? null}, ${m.type ?? "UserMessage"},
        ${m.text ?? null}, ${json(m.custom ?? {})}, ${json(m.attachment)}, ${json(m.location)}, ${json(m.content)},
        ${m.origin ?? null}, ${ts(m.createdAt)}, ${ts(m.editedAt)}, ${m.referencedMessageId ?? null},
        ${json(m.readBy ?? [])}, ${json(m)}, ${hash}, ${seen}, ${seen}, ${seen}, NULL)`;
    });
    return tx.$queryRaw<{ id: string }[]>`
      INSERT INTO messages (app_id, id, conversation_id, sender_id, type,
        text, custom, attachment, location, content,
        origin, created_at, edited_at, referenced_message_id,
        read_by, raw, content_hash, first_seen_at, synced_at, updated_at, deleted_at)
      VALUES ${Prisma.join(values)}
      ON CONFLICT (app_id, id) DO UPDATE SET
        conversation_id = excluded.conversation_id, sender_id = excluded.sender_id, type = excluded.type,
        text = excluded.text, custom = excluded.custom, attachment = excluded.attachment,
        location = excluded.location, content = excluded.content, origin = excluded.origin,
        created_at = excluded.created_at, edited_at = excluded.edited_at,
        referenced_message_id = excluded.referenced_message_id, read_by = excluded.read_by,
        raw = excluded.raw, content_hash = excluded.content_hash, synced_at = excluded.synced_at,
        updated_at = excluded.updated_at, deleted_at = NULL
      WHERE (messages.content_hash ${sqlDistinct(this.#pg)} excluded.content_hash OR messages.deleted_at IS NOT NULL)
        AND excluded.synced_at >= messages.synced_at
        AND (messages.deleted_at IS NULL OR excluded.synced_at > messages.deleted_at)
      RETURNING id`;
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
    const changed = opts.changedOnly
      ? Prisma.sql`AND (s.last_message_id IS NULL OR s.last_message_id <> c.last_message_id)`
      : Prisma.empty;
    const after = opts.afterId === undefined ? Prisma.empty : Prisma.sql`AND c.id > ${opts.afterId}`;
    const rows = await this.#client.$queryRaw<
      { conversation_id: string; last_message_id: string; newest_message_at: unknown }[]
    >`SELECT c.id AS conversation_id, c.last_message_id, s.newest_message_at
      FROM conversations c
      LEFT JOIN message_sync_state s ON s.app_id = c.app_id AND s.conversation_id = c.id
      WHERE c.app_id = ${appId} AND c.deleted_at IS NULL AND c.last_message_id IS NOT NULL
        ${changed} ${after}
      ORDER BY c.id
      LIMIT ${opts.limit}`;
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
    await this.#client.messageSyncState.upsert({
      where: { appId_conversationId: { appId, conversationId } },
      create: { appId, conversationId, ...data },
      update: data,
    });
  }

  /** Ids of the live (not deleted) messages mirrored for one conversation. */
  async liveIds(appId: string, conversationId: string): Promise<string[]> {
    const rows = await this.#client.message.findMany({
      where: { appId, conversationId, deletedAt: null },
      select: { id: true },
    });
    return rows.map((r) => r.id);
  }

  /** Sets deleted_at on live messages among `ids`; returns how many changed. */
  async markDeleted(appId: string, ids: string[], at: Date): Promise<number> {
    let count = 0;
    for (const part of chunk(ids, MAX_PARAMS)) {
      const res = await this.#client.message.updateMany({
        where: { appId, id: { in: part }, deletedAt: null },
        data: { deletedAt: at },
      });
      count += res.count;
    }
    return count;
  }

  async get(appId: string, id: string): Promise<StoredMessage | null> {
    return this.#client.message.findUnique({
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
    const [live, deleted] = await Promise.all([
      this.#client.message.count({ where: { appId, deletedAt: null } }),
      this.#client.message.count({ where: { appId, deletedAt: { not: null } } }),
    ]);
    return { live, deleted };
  }
}
