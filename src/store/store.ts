// The database behind talkjs-mirror: one provider-agnostic Store over SQLite or PostgreSQL.
// Reads use the generated Prisma clients; the hot path (a page upsert) is hand-written multi-row SQL
// because per-row Prisma upserts are >10x slower (see bench/store-upsert.ts).
import type { RunCounts } from "../counts.ts";
import { Prisma } from "../generated/prisma/client.ts";
import type { Conversation } from "../talkjs/types.ts";
import { lastActivityOf } from "../talkjs/types.ts";
import type { DatabaseConfig, DatabaseProvider } from "./database-url.ts";
import { contentHash } from "./hash.ts";
import { MessageStore } from "./messages.ts";
import { type Client, type Db, type OpenStoreConfig, openDatabase, type Tx } from "./open.ts";
import {
  acquirePostgresLock,
  acquireSqliteLock,
  describeRunLock,
  type RunLock,
  type RunLockHolder,
  type RunLockInfo,
} from "./run-lock.ts";
import { chunk, MAX_PARAMS, sqlDistinct, sqlJson, sqlTimestamp } from "./sql.ts";

export type { MessageStats, MessageWork, StoredMessage } from "./messages.ts";
export type { OpenStoreConfig } from "./open.ts";
export type { RunLock, RunLockHolder, RunLockInfo } from "./run-lock.ts";

/** "abandoned": the process died mid-run (closed by the next run that holds the lock). */
export type RunStatus = "running" | "succeeded" | "failed" | "aborted" | "abandoned";

export interface UpsertCounts {
  inserted: number;
  updated: number;
  unchanged: number;
}

export interface Checkpoint {
  stream: string;
  /** Opaque to the store (the sync engine's serialized cursor), or null to clear it. */
  cursor: string | null;
  watermark?: Date | null;
}

export interface UpsertOptions {
  /** When the page was fetched: first_seen_at/synced_at/updated_at use it. */
  seenAt: Date;
  /** The reconcile run that saw these rows (mark-and-sweep marker). */
  runId?: number;
  /** Written in the SAME transaction as the page (and marked a success at seenAt). */
  checkpoint?: Checkpoint;
}

export interface SyncStateRow {
  appId: string;
  stream: string;
  cursor: string | null;
  watermark: Date | null;
  lastSuccessAt: Date | null;
  lastError: string | null;
  lastErrorAt: Date | null;
  updatedAt: Date;
}

export interface SyncRunRow extends RunCounts {
  id: number;
  appId: string;
  kind: string;
  startedAt: Date;
  finishedAt: Date | null;
  status: RunStatus;
  error: string | null;
}

export interface StoredParticipant {
  userId: string;
  access: string;
  notify: boolean;
}

export interface StoredConversation {
  appId: string;
  id: string;
  subject: string | null;
  photoUrl: string | null;
  topicId: string | null;
  welcomeMessages: unknown;
  custom: unknown;
  lastMessage: unknown;
  lastMessageAt: Date | null;
  lastMessageId: string | null;
  lastMessageSenderId: string | null;
  createdAt: Date;
  lastActivityAt: Date;
  participantCount: number;
  raw: unknown;
  contentHash: string;
  firstSeenAt: Date;
  syncedAt: Date;
  updatedAt: Date;
  deletedAt: Date | null;
  seenRunId: number | null;
  participants: StoredParticipant[];
}

export interface StoreStats {
  live: number;
  deleted: number;
  participants: number;
  newestActivityAt: Date | null;
  lastSyncedAt: Date | null;
}

export interface Store {
  readonly provider: DatabaseProvider;
  /** The message mirror's tables (messages, message_sync_state). */
  readonly messages: MessageStore;
  upsertConversations(
    appId: string,
    conversations: Conversation[],
    opts: UpsertOptions,
  ): Promise<UpsertCounts>;
  getConversation(appId: string, id: string): Promise<StoredConversation | null>;
  countLive(appId: string): Promise<number>;
  /** Live rows not seen by `runId`, ordered by id, keyset-paged by `afterId`: deletion candidates. */
  listUnseenLive(appId: string, runId: number, limit: number, afterId?: string): Promise<string[]>;
  /** How many live rows `runId` has not seen (reconcile refuses a mass deletion before any GET). */
  countUnseenLive(appId: string, runId: number): Promise<number>;
  /** Sets deleted_at on live rows among `ids`; returns how many changed. */
  markDeleted(appId: string, ids: string[], at: Date): Promise<number>;
  getSyncState(appId: string, stream: string): Promise<SyncStateRow | null>;
  saveSyncState(
    appId: string,
    stream: string,
    state: { cursor: string | null; watermark?: Date | null; lastSuccessAt?: Date },
  ): Promise<void>;
  recordSyncError(appId: string, stream: string, error: string, at?: Date): Promise<void>;
  startRun(appId: string, kind: string, startedAt?: Date): Promise<number>;
  finishRun(
    id: number,
    result: {
      status: Exclude<RunStatus, "running">;
      counts?: Partial<RunCounts>;
      error?: string | null;
      finishedAt?: Date;
    },
  ): Promise<void>;
  lastRuns(appId: string, limit?: number): Promise<SyncRunRow[]>;
  /** Marks runs still "running" as "abandoned"; only call while holding the run lock. */
  closeAbandonedRuns(appId: string, at?: Date): Promise<number>;
  /**
   * Takes the app's run lock (one writer per app across processes and hosts), or returns null at
   * once when someone else holds it. See ./run-lock.ts.
   */
  acquireRunLock(appId: string, holder: RunLockHolder): Promise<RunLock | null>;
  /** Who holds the app's run lock, if anyone (for the "another run is active" message). */
  describeRunLock(appId: string): Promise<RunLockInfo | null>;
  stats(appId: string): Promise<StoreStats>;
  /** Raw SQL for callers that need it (tests, analytics); results as the driver returns them. */
  queryRaw(sql: string): Promise<Record<string, unknown>[]>;
  close(): Promise<void>;
}

const CONVERSATION_COLUMNS = 21;
const PARTICIPANT_COLUMNS = 5;

interface Row {
  id: string;
  conversation: Conversation;
  hash: string;
}

export async function openStore(config: OpenStoreConfig | DatabaseConfig): Promise<Store> {
  return new PrismaStore(await openDatabase(config));
}

class PrismaStore implements Store {
  readonly provider: DatabaseProvider;
  readonly #client: Client;
  readonly #pg: boolean;
  readonly #url: string;
  readonly #locks = new Set<RunLock>();
  readonly messages: MessageStore;

  constructor(db: Db) {
    this.provider = db.provider;
    this.#client = db.client;
    this.#pg = db.pg;
    this.#url = db.url;
    this.messages = new MessageStore(db.client, this.#pg);
  }

  // ---- SQL fragments that differ by provider -------------------------------------------------

  #ts(value: Date | null): Prisma.Sql {
    return sqlTimestamp(this.#pg, value);
  }

  #json(value: unknown): Prisma.Sql {
    return sqlJson(this.#pg, value);
  }

  // ---- hot path -------------------------------------------------------------------------------

  async upsertConversations(
    appId: string,
    conversations: Conversation[],
    opts: UpsertOptions,
  ): Promise<UpsertCounts> {
    // Last occurrence wins: one statement must not touch the same row twice (PG refuses).
    const byId = new Map<string, Row>();
    for (const c of conversations) byId.set(c.id, { id: c.id, conversation: c, hash: contentHash(c) });
    // Sorted: concurrent writers then lock rows in the same order (no deadlocks on PostgreSQL).
    const rows = [...byId.values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    const { seenAt, runId, checkpoint } = opts;

    return this.#client.$transaction(
      async (tx) => {
        const counts: UpsertCounts = { inserted: 0, updated: 0, unchanged: 0 };
        const written = new Set<string>();
        const existing = new Set<string>();
        for (const part of chunk(rows, Math.floor(MAX_PARAMS / CONVERSATION_COLUMNS))) {
          if (!this.#pg) {
            // SQLite has one writer and the adapter runs one transaction at a time, so what exists
            // now still exists at the INSERT. (PostgreSQL reports inserts itself, see #insertChanged.)
            // Raw SQL, like the rest of this hot path: a model-API read costs a query compilation.
            const found = await tx.$queryRaw<{ id: string }[]>`SELECT id FROM conversations
              WHERE app_id = ${appId} AND id IN (${Prisma.join(part.map((r) => r.id))})`;
            for (const r of found) existing.add(r.id);
          }
          for (const r of await this.#insertChanged(tx, appId, part, seenAt, runId)) {
            written.add(r.id);
            if (r.inserted === false) existing.add(r.id);
          }
        }
        const unchangedIds = rows.filter((r) => !written.has(r.id)).map((r) => r.id);
        for (const ids of chunk(unchangedIds, MAX_PARAMS)) {
          // Rows whose content did not change (or whose copy here is older): only the "seen"
          // markers move — synced_at never backwards; updated_at stays.
          const seen = this.#ts(seenAt);
          const run = runId === undefined ? Prisma.sql`seen_run_id` : Prisma.sql`${runId}`;
          await tx.$executeRaw`UPDATE conversations
            SET synced_at = CASE WHEN synced_at < ${seen} THEN ${seen} ELSE synced_at END,
                seen_run_id = ${run}
            WHERE app_id = ${appId} AND id IN (${Prisma.join(ids)})`;
        }
        const changed = rows.filter((r) => written.has(r.id));
        await this.#replaceParticipants(tx, appId, changed);
        for (const r of rows) {
          if (!written.has(r.id)) counts.unchanged++;
          else if (existing.has(r.id)) counts.updated++;
          else counts.inserted++;
        }
        if (checkpoint) {
          await this.#saveCheckpoint(tx, appId, checkpoint, seenAt);
        }
        return counts;
      },
      { timeout: 120_000, maxWait: 60_000 },
    );
  }

  /**
   * The checkpoint that commits with a page: what upsertSyncState writes, as one raw statement
   * (the model API's upsert is compiled per call; on a page of 30 that was a visible share).
   */
  async #saveCheckpoint(tx: Tx, appId: string, checkpoint: Checkpoint, at: Date): Promise<void> {
    const hasWatermark = checkpoint.watermark !== undefined;
    const watermark = hasWatermark ? Prisma.sql`watermark = excluded.watermark,` : Prisma.empty;
    await tx.$executeRaw`INSERT INTO sync_state (app_id, stream, cursor, watermark, last_success_at, last_error, updated_at)
      VALUES (${appId}, ${checkpoint.stream}, ${checkpoint.cursor}, ${this.#ts(checkpoint.watermark ?? null)},
        ${this.#ts(at)}, NULL, ${this.#ts(new Date())})
      ON CONFLICT (app_id, stream) DO UPDATE SET cursor = excluded.cursor, ${watermark}
        last_success_at = excluded.last_success_at, last_error = NULL, updated_at = excluded.updated_at`;
  }

  /**
   * One multi-row INSERT … ON CONFLICT DO UPDATE. The WHERE skips rows whose content_hash did not
   * change (no write, updated_at kept) unless the row was marked deleted (resurrection), and never
   * lets an older copy win: a copy fetched before the stored one (synced_at), or before the
   * deletion was confirmed (deleted_at), is ignored — whatever order concurrent pages commit in.
   * RETURNING gives the ids actually inserted or updated; on PostgreSQL also whether the row was
   * inserted (`xmax = 0` marks a row version created by INSERT), which stays correct when a
   * concurrent transaction inserted the same id between our read and our write.
   */
  async #insertChanged(
    tx: Tx,
    appId: string,
    rows: Row[],
    seenAt: Date,
    runId: number | undefined,
  ): Promise<{ id: string; inserted?: boolean }[]> {
    const distinct = sqlDistinct(this.#pg);
    const run = runId === undefined ? Prisma.sql`NULL` : Prisma.sql`${runId}`;
    const values = rows.map(({ id, conversation: c, hash }) => {
      const last = c.lastMessage;
      return Prisma.sql`(${appId}, ${id}, ${c.subject ?? null}, ${c.photoUrl ?? null}, ${c.topicId ?? null},
        ${this.#json(c.welcomeMessages)}, ${this.#json(c.custom ?? {})}, ${this.#json(last)},
        ${this.#ts(last ? new Date(last.createdAt) : null)}, ${last?.id ?? null}, ${last?.senderId ?? null},
        ${this.#ts(new Date(c.createdAt))}, ${this.#ts(new Date(lastActivityOf(c)))},
        ${Object.keys(c.participants ?? {}).length}, ${this.#json(c)}, ${hash},
        ${this.#ts(seenAt)}, ${this.#ts(seenAt)}, ${this.#ts(seenAt)}, NULL, ${run})`;
    });
    // Keep runId on the row when none was given (a non-reconcile sync must not erase the marker).
    const seenRun =
      runId === undefined ? Prisma.sql`conversations.seen_run_id` : Prisma.sql`excluded.seen_run_id`;
    const returning = this.#pg ? Prisma.sql`RETURNING id, (xmax = 0) AS inserted` : Prisma.sql`RETURNING id`;
    return tx.$queryRaw<{ id: string; inserted?: boolean }[]>`
      INSERT INTO conversations (app_id, id, subject, photo_url, topic_id,
        welcome_messages, custom, last_message,
        last_message_at, last_message_id, last_message_sender_id,
        created_at, last_activity_at,
        participant_count, raw, content_hash,
        first_seen_at, synced_at, updated_at, deleted_at, seen_run_id)
      VALUES ${Prisma.join(values)}
      ON CONFLICT (app_id, id) DO UPDATE SET
        subject = excluded.subject, photo_url = excluded.photo_url, topic_id = excluded.topic_id,
        welcome_messages = excluded.welcome_messages, custom = excluded.custom,
        last_message = excluded.last_message, last_message_at = excluded.last_message_at,
        last_message_id = excluded.last_message_id, last_message_sender_id = excluded.last_message_sender_id,
        created_at = excluded.created_at, last_activity_at = excluded.last_activity_at,
        participant_count = excluded.participant_count, raw = excluded.raw,
        content_hash = excluded.content_hash, synced_at = excluded.synced_at,
        updated_at = excluded.updated_at, deleted_at = NULL, seen_run_id = ${seenRun}
      WHERE (conversations.content_hash ${distinct} excluded.content_hash
             OR conversations.deleted_at IS NOT NULL)
        AND excluded.synced_at >= conversations.synced_at
        AND (conversations.deleted_at IS NULL OR excluded.synced_at > conversations.deleted_at)
      ${returning}`;
  }

  /**
   * Participants of changed/new conversations are replaced as a set: delete all, insert the current
   * ones. ON CONFLICT covers a concurrent writer that inserted the same conversation's participants
   * after our DELETE's snapshot (PostgreSQL, READ COMMITTED).
   */
  async #replaceParticipants(tx: Tx, appId: string, rows: Row[]): Promise<void> {
    for (const ids of chunk(
      rows.map((r) => r.id),
      MAX_PARAMS,
    )) {
      await tx.$executeRaw`DELETE FROM conversation_participants
        WHERE app_id = ${appId} AND conversation_id IN (${Prisma.join(ids)})`;
    }
    const tuples = rows.flatMap(({ id, conversation }) =>
      Object.entries(conversation.participants ?? {}).map(
        ([userId, p]) => Prisma.sql`(${appId}, ${id}, ${userId}, ${p.access}, ${p.notify})`,
      ),
    );
    for (const part of chunk(tuples, Math.floor(MAX_PARAMS / PARTICIPANT_COLUMNS))) {
      await tx.$executeRaw`INSERT INTO conversation_participants (app_id, conversation_id, user_id, access, notify)
        VALUES ${Prisma.join(part)}
        ON CONFLICT (app_id, conversation_id, user_id) DO UPDATE SET access = excluded.access, notify = excluded.notify`;
    }
  }

  // ---- reads and reconcile ----------------------------------------------------------------------

  async getConversation(appId: string, id: string): Promise<StoredConversation | null> {
    const row = await this.#client.conversation.findUnique({
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
    return this.#client.conversation.count({ where: { appId, deletedAt: null } });
  }

  async listUnseenLive(appId: string, runId: number, limit: number, afterId?: string): Promise<string[]> {
    const rows = await this.#client.conversation.findMany({
      where: {
        appId,
        deletedAt: null,
        OR: [{ seenRunId: null }, { seenRunId: { not: runId } }],
        ...(afterId !== undefined ? { id: { gt: afterId } } : {}),
      },
      select: { id: true },
      orderBy: { id: "asc" },
      take: limit,
    });
    return rows.map((r) => r.id);
  }

  countUnseenLive(appId: string, runId: number): Promise<number> {
    return this.#client.conversation.count({
      where: { appId, deletedAt: null, OR: [{ seenRunId: null }, { seenRunId: { not: runId } }] },
    });
  }

  async markDeleted(appId: string, ids: string[], at: Date): Promise<number> {
    let count = 0;
    for (const part of chunk(ids, MAX_PARAMS)) {
      const res = await this.#client.conversation.updateMany({
        where: { appId, id: { in: part }, deletedAt: null },
        data: { deletedAt: at },
      });
      count += res.count;
    }
    return count;
  }

  // ---- sync state -------------------------------------------------------------------------------

  getSyncState(appId: string, stream: string): Promise<SyncStateRow | null> {
    return this.#client.syncState.findUnique({ where: { appId_stream: { appId, stream } } });
  }

  async saveSyncState(
    appId: string,
    stream: string,
    state: { cursor: string | null; watermark?: Date | null; lastSuccessAt?: Date },
  ): Promise<void> {
    await upsertSyncState(this.#client, appId, stream, state);
  }

  async recordSyncError(appId: string, stream: string, error: string, at: Date = new Date()): Promise<void> {
    await this.#client.syncState.upsert({
      where: { appId_stream: { appId, stream } },
      create: { appId, stream, lastError: error, lastErrorAt: at, updatedAt: at },
      update: { lastError: error, lastErrorAt: at, updatedAt: at },
    });
  }

  // ---- runs -------------------------------------------------------------------------------------

  async startRun(appId: string, kind: string, startedAt: Date = new Date()): Promise<number> {
    const run = await this.#client.syncRun.create({
      data: { appId, kind, startedAt, status: "running" },
      select: { id: true },
    });
    return run.id;
  }

  async finishRun(
    id: number,
    result: {
      status: Exclude<RunStatus, "running">;
      counts?: Partial<RunCounts>;
      error?: string | null;
      finishedAt?: Date;
    },
  ): Promise<void> {
    await this.#client.syncRun.update({
      where: { id },
      data: {
        status: result.status,
        finishedAt: result.finishedAt ?? new Date(),
        error: result.error ?? null,
        ...result.counts,
      },
    });
  }

  async closeAbandonedRuns(appId: string, at: Date = new Date()): Promise<number> {
    const result = await this.#client.syncRun.updateMany({
      where: { appId, status: "running" },
      data: {
        status: "abandoned",
        finishedAt: at,
        error: "the process stopped before the run finished (killed or crashed)",
      },
    });
    return result.count;
  }

  async lastRuns(appId: string, limit = 10): Promise<SyncRunRow[]> {
    const rows = await this.#client.syncRun.findMany({
      where: { appId },
      orderBy: { id: "desc" },
      take: limit,
    });
    return rows.map((r) => ({ ...r, status: r.status as RunStatus }));
  }

  async stats(appId: string): Promise<StoreStats> {
    const [live, deleted, participants, agg] = await Promise.all([
      this.#client.conversation.count({ where: { appId, deletedAt: null } }),
      this.#client.conversation.count({ where: { appId, deletedAt: { not: null } } }),
      this.#client.conversationParticipant.count({ where: { appId } }),
      this.#client.conversation.aggregate({
        where: { appId },
        _max: { lastActivityAt: true, syncedAt: true },
      }),
    ]);
    return {
      live,
      deleted,
      participants,
      newestActivityAt: agg._max.lastActivityAt,
      lastSyncedAt: agg._max.syncedAt,
    };
  }

  queryRaw(sql: string): Promise<Record<string, unknown>[]> {
    return this.#client.$queryRawUnsafe<Record<string, unknown>[]>(sql);
  }

  // ---- run lock ---------------------------------------------------------------------------------

  async acquireRunLock(appId: string, holder: RunLockHolder): Promise<RunLock | null> {
    const lock = this.#pg
      ? await acquirePostgresLock(this.#client, this.#url, appId, holder)
      : await acquireSqliteLock(this.#client, appId, holder);
    if (!lock) return null;
    this.#locks.add(lock);
    return {
      appId: lock.appId,
      holder: lock.holder,
      release: async () => {
        this.#locks.delete(lock);
        await lock.release();
      },
    };
  }

  describeRunLock(appId: string): Promise<RunLockInfo | null> {
    return describeRunLock(this.#client, appId);
  }

  async close(): Promise<void> {
    for (const lock of [...this.#locks]) await lock.release().catch(() => {});
    this.#locks.clear();
    await this.#client.$disconnect();
  }
}

async function upsertSyncState(
  client: Tx,
  appId: string,
  stream: string,
  state: { cursor: string | null; watermark?: Date | null; lastSuccessAt?: Date },
): Promise<void> {
  const now = new Date();
  const data = {
    cursor: state.cursor,
    ...(state.watermark !== undefined ? { watermark: state.watermark } : {}),
    ...(state.lastSuccessAt !== undefined ? { lastSuccessAt: state.lastSuccessAt, lastError: null } : {}),
    updatedAt: now,
  };
  await client.syncState.upsert({
    where: { appId_stream: { appId, stream } },
    create: { appId, stream, ...data },
    update: data,
  });
}
