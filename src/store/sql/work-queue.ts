// Statements of the work queue (work_queue): one table for every kind of pending work, keyed by
// (app_id, kind, key). A pass reads only its kind's range of the primary key, so idle costs nothing.
import { empty, join, type Sql, sql, sqlTimestamp } from "./shared.ts";

/** Work kinds. A new feature adds its kind here (e.g. "user" for new user ids, "webhook" fetches). */
export const WORK_KINDS = {
  messages: "messages",
  /** A webhook named this conversation: GET it and its newest messages (404: mark it deleted). */
  hookConversation: "hook_conversation",
  /** A webhook said this message was edited: re-read the page that holds it (key: conversation \n message). */
  hookMessage: "hook_message",
  /** A webhook named this user: GET it. */
  hookUser: "hook_user",
} as const;
/** The kinds webhooks fill, drained by src/sync/webhooks/consume.ts. */
export const HOOK_KINDS = [WORK_KINDS.hookConversation, WORK_KINDS.hookMessage, WORK_KINDS.hookUser] as const;
export type HookKind = (typeof HOOK_KINDS)[number];
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

/**
 * Webhook work: adds items, or moves an already-queued item's `enqueued_at` forward to the newest
 * event's receipt (a drain that started before that receipt does not dequeue it: dequeueHookWork)
 * and its `waiting_since` back to the oldest unserved one's (the drain's order). Primary key.
 */
export function enqueueHookWork(
  pg: boolean,
  appId: string,
  items: readonly { kind: HookKind; key: string; at: Date; firstAt: Date }[],
): Sql {
  const rows = items.map(
    (i) => sql`(${appId}, ${i.kind}, ${i.key}, ${sqlTimestamp(pg, i.at)}, ${sqlTimestamp(pg, i.firstAt)})`,
  );
  return sql`INSERT INTO work_queue (app_id, kind, key, enqueued_at, waiting_since) VALUES ${join(rows)}
    ON CONFLICT (app_id, kind, key) DO UPDATE SET
      enqueued_at = CASE WHEN excluded.enqueued_at > work_queue.enqueued_at
        THEN excluded.enqueued_at ELSE work_queue.enqueued_at END,
      waiting_since = CASE WHEN work_queue.waiting_since IS NULL OR excluded.waiting_since < work_queue.waiting_since
        THEN excluded.waiting_since ELSE work_queue.waiting_since END`;
}

/**
 * The queued webhook work of these kinds, first come first served: by the oldest unserved event
 * (a busy conversation's newer events never push it behind quieter ones). Primary key range of
 * each kind; the hook kinds hold only the backlog, so the sort is small.
 */
export function listHookWork(appId: string, kinds: readonly HookKind[], limit: number): Sql {
  return sql`SELECT kind, key, enqueued_at FROM work_queue WHERE app_id = ${appId} AND kind IN (${join([...kinds])})
    ORDER BY COALESCE(waiting_since, enqueued_at), kind, key LIMIT ${limit}`;
}

/**
 * Removes done webhook work, except items an event received after the fetch started moved
 * forward: that event's change may postdate what the fetch read. Returns the removed items.
 * Primary key.
 */
export function dequeueHookWork(
  pg: boolean,
  appId: string,
  kind: HookKind,
  keys: readonly string[],
  startedAt: Date,
): Sql {
  return sql`DELETE FROM work_queue WHERE app_id = ${appId} AND kind = ${kind} AND key IN (${join(keys)})
    AND enqueued_at <= ${sqlTimestamp(pg, startedAt)}
    RETURNING key, enqueued_at`;
}

/** Webhook backlog for status and /metrics: queued items and the oldest one's time. Primary key range. */
export function hookBacklog(appId: string): Sql {
  return sql`SELECT COUNT(*) AS n, MIN(COALESCE(waiting_since, enqueued_at)) AS oldest FROM work_queue
    WHERE app_id = ${appId} AND kind IN (${join([...HOOK_KINDS])})`;
}

/** The message pass's work for the given conversations only (webhook fetches). Point lookups. */
export function queuedMessageWorkFor(appId: string, ids: readonly string[]): Sql {
  return sql`SELECT q.key AS conversation_id, c.last_message_id, s.newest_message_at
    FROM work_queue q
    JOIN conversations c ON c.app_id = q.app_id AND c.id = q.key
    LEFT JOIN message_sync_state s ON s.app_id = q.app_id AND s.conversation_id = q.key
    WHERE q.app_id = ${appId} AND q.kind = ${WORK_KINDS.messages} AND q.key IN (${join(ids)})
      AND c.deleted_at IS NULL AND c.last_message_id IS NOT NULL
      AND (s.last_message_id IS NULL OR s.last_message_id <> c.last_message_id)`;
}

/**
 * The message just newer than `messageId` in its conversation (the anchor to re-read the page that
 * holds an edited message with startingAfter). messages (app_id, id) then (app_id, conversation_id, created_at).
 */
export function newerMessageAnchor(appId: string, conversationId: string, messageId: string): Sql {
  return sql`SELECT n.id FROM messages m
    JOIN messages n ON n.app_id = m.app_id AND n.conversation_id = m.conversation_id AND n.created_at > m.created_at
    WHERE m.app_id = ${appId} AND m.id = ${messageId} AND m.conversation_id = ${conversationId}
    ORDER BY n.created_at ASC LIMIT 1`;
}
