// Statements of the work queue (work_queue): one table for every kind of pending work, keyed by
// (app_id, kind, key). A pass reads only its kind's range of the primary key, so idle costs nothing.
import { empty, join, type Sql, sql, sqlTimestamp } from "./shared.ts";

/** Work kinds. A new feature adds its kind here (e.g. "user" for new user ids, "webhook" fetches). */
export const WORK_KINDS = { messages: "messages" } as const;
export type WorkKind = (typeof WORK_KINDS)[keyof typeof WORK_KINDS];

/** Adds keys of one kind (already queued: kept, with its first enqueue time). Primary key. */
export function enqueueWork(
  pg: boolean,
  appId: string,
  kind: WorkKind,
  keys: readonly string[],
  at: Date,
): Sql {
  const rows = keys.map((key) => sql`(${appId}, ${kind}, ${key}, ${sqlTimestamp(pg, at)})`);
  return sql`INSERT INTO work_queue (app_id, kind, key, enqueued_at) VALUES ${join(rows)}
    ON CONFLICT (app_id, kind, key) DO NOTHING`;
}

/** Removes done keys of one kind. Primary key. */
export function dequeueWork(appId: string, kind: WorkKind, keys: readonly string[]): Sql {
  return sql`DELETE FROM work_queue WHERE app_id = ${appId} AND kind = ${kind} AND key IN (${join(keys)})`;
}

/** How much work of one kind is pending (status, tests). Primary key range. */
export function countWork(appId: string, kind: WorkKind): Sql {
  return sql`SELECT COUNT(*) AS n FROM work_queue WHERE app_id = ${appId} AND kind = ${kind}`;
}

/**
 * "messages" work for the conversations a page just wrote: those whose messages are behind their
 * current lastMessage. Point lookups of the page's ids (conversations and message_sync_state
 * primary keys), in the page's transaction: the queue never misses a committed change.
 */
export function enqueueChangedConversations(
  pg: boolean,
  appId: string,
  ids: readonly string[],
  at: Date,
): Sql {
  return sql`INSERT INTO work_queue (app_id, kind, key, enqueued_at)
    SELECT c.app_id, ${WORK_KINDS.messages}, c.id, ${sqlTimestamp(pg, at)}
    FROM conversations c
    LEFT JOIN message_sync_state s ON s.app_id = c.app_id AND s.conversation_id = c.id
    WHERE c.app_id = ${appId} AND c.id IN (${join(ids)}) AND c.deleted_at IS NULL AND c.last_message_id IS NOT NULL
      AND (s.last_message_id IS NULL OR s.last_message_id <> c.last_message_id)
    ON CONFLICT (app_id, kind, key) DO NOTHING`;
}

/**
 * The incremental message pass's work: the queued conversations, keyset paged by key, each with
 * what the pass needs (null last_message_id: nothing to do any more — deleted or caught up).
 * Reads the queue's primary key range, then point lookups: O(queued), never O(mirror).
 */
export function queuedMessageWork(appId: string, limit: number, afterKey?: string): Sql {
  const after = afterKey === undefined ? empty : sql`AND q.key > ${afterKey}`;
  return sql`SELECT q.key AS conversation_id,
      CASE WHEN c.deleted_at IS NULL AND c.last_message_id IS NOT NULL
        AND (s.last_message_id IS NULL OR s.last_message_id <> c.last_message_id)
        THEN c.last_message_id END AS last_message_id,
      s.newest_message_at
    FROM work_queue q
    LEFT JOIN conversations c ON c.app_id = q.app_id AND c.id = q.key
    LEFT JOIN message_sync_state s ON s.app_id = q.app_id AND s.conversation_id = q.key
    WHERE q.app_id = ${appId} AND q.kind = ${WORK_KINDS.messages} ${after}
    ORDER BY q.key
    LIMIT ${limit}`;
}

/**
 * "messages" work for every history the message pass finished since `since` (the page-size proof
 * was revoked: those closed at a short page are re-read). Reads message_sync_state's app range.
 */
export function enqueueHistoriesSince(pg: boolean, appId: string, since: Date, at: Date): Sql {
  return sql`INSERT INTO work_queue (app_id, kind, key, enqueued_at)
    SELECT app_id, ${WORK_KINDS.messages}, conversation_id, ${sqlTimestamp(pg, at)}
    FROM message_sync_state
    WHERE app_id = ${appId} AND synced_at >= ${sqlTimestamp(pg, since)}
    ON CONFLICT (app_id, kind, key) DO NOTHING`;
}
