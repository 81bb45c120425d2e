// Statements of the messages family: the messages table as a mirror table (its upsert is the
// shared one in ./upsert.ts), the message pass's work list, and the reads of `status` and the demo.
import type { Message } from "../../talkjs/types.ts";
import { empty, join, type Sql, sql, sqlEpochMs, sqlJson, sqlTimestamp } from "./shared.ts";
import { defineMirrorTable } from "./upsert.ts";

/** messages: one row per message, the API object in `raw` plus the columns analytics need. */
export const MESSAGES = defineMirrorTable<Message>({
  table: "messages",
  columns: [
    "conversation_id",
    "sender_id",
    "type",
    "text",
    "custom",
    "attachment",
    "location",
    "content",
    "origin",
    "created_at",
    "edited_at",
    "referenced_message_id",
    "read_by",
    "raw",
  ],
  id: (m) => m.id,
  values: (m, pg) => [
    m.conversationId,
    m.senderId ?? null,
    m.type ?? "UserMessage",
    m.text ?? null,
    sqlJson(pg, m.custom ?? {}),
    sqlJson(pg, m.attachment),
    sqlJson(pg, m.location),
    sqlJson(pg, m.content),
    m.origin ?? null,
    sqlEpochMs(pg, m.createdAt),
    sqlEpochMs(pg, m.editedAt),
    m.referencedMessageId ?? null,
    sqlJson(pg, m.readBy ?? []),
    sqlJson(pg, m),
  ],
});

/**
 * The message pass's work list: live conversations with messages whose mirrored messages are not
 * complete up to their current lastMessage (`changedOnly`), or all of them (a deep pass), keyset
 * paged by conversation id. Served by the conversations primary key (app_id, id) in id order,
 * joined to message_sync_state on its primary key.
 */
export function messageWork(
  appId: string,
  opts: { changedOnly: boolean; limit: number; afterId?: string | undefined },
): Sql {
  const changed = opts.changedOnly
    ? sql`AND (s.last_message_id IS NULL OR s.last_message_id <> c.last_message_id)`
    : empty;
  const after = opts.afterId === undefined ? empty : sql`AND c.id > ${opts.afterId}`;
  // A deep pass also visits a conversation whose lastMessage became null (every message deleted at
  // TalkJS) but whose messages were mirrored before (it has a state row): its history must be re-read.
  const hasMessages = opts.changedOnly
    ? sql`c.last_message_id IS NOT NULL`
    : sql`(c.last_message_id IS NOT NULL OR s.conversation_id IS NOT NULL)`;
  return sql`SELECT c.id AS conversation_id, c.last_message_id, s.newest_message_at
    FROM conversations c
    LEFT JOIN message_sync_state s ON s.app_id = c.app_id AND s.conversation_id = c.id
    WHERE c.app_id = ${appId} AND c.deleted_at IS NULL AND ${hasMessages}
      ${changed} ${after}
    ORDER BY c.id
    LIMIT ${opts.limit}`;
}

/** `status`: live and deleted messages of one app, in one pass over its primary key range. */
export function messageStats(appId: string): Sql {
  return sql`SELECT SUM(CASE WHEN deleted_at IS NULL THEN 1 ELSE 0 END) AS live,
      SUM(CASE WHEN deleted_at IS NULL THEN 0 ELSE 1 END) AS deleted
    FROM messages WHERE app_id = ${appId}`;
}

/** The demo's row-by-row check: the content hash of every live message. Primary key range. */
export function liveMessageHashes(appId: string): Sql {
  return sql`SELECT id, content_hash FROM messages WHERE app_id = ${appId} AND deleted_at IS NULL`;
}

/**
 * A deep re-read's evidence on live messages it did not return, older than anything it returned:
 * unproven, so only the first time they were found missing is recorded. Primary key.
 */
export function noteMissing(pg: boolean, appId: string, ids: readonly string[], at: Date): Sql {
  return sql`UPDATE messages SET missing_since = ${sqlTimestamp(pg, at)}
    WHERE app_id = ${appId} AND id IN (${join(ids)}) AND missing_since IS NULL`;
}

/** Messages a deep re-read returned again: whatever absence was recorded for them is void. Primary key. */
export function clearMissing(appId: string, ids: readonly string[]): Sql {
  return sql`UPDATE messages SET missing_since = NULL, pending_delete_run = NULL
    WHERE app_id = ${appId} AND id IN (${join(ids)}) AND (missing_since IS NOT NULL OR pending_delete_run IS NOT NULL)`;
}

/**
 * Deletions a deep run has proven, held until the run's end decides whether they stay under the
 * per-run cap (nothing is marked when they do not). Primary key.
 */
export function notePendingDelete(appId: string, ids: readonly string[], runId: number): Sql {
  return sql`UPDATE messages SET pending_delete_run = ${runId}
    WHERE app_id = ${appId} AND id IN (${join(ids)}) AND deleted_at IS NULL`;
}

/**
 * The end of a deep run under its cap: marks deleted what it proved. Once per deep run, after a
 * re-read of every history, so one pass over the app's primary key range is in proportion.
 */
export function markPendingDeleted(pg: boolean, appId: string, runId: number, at: Date): Sql {
  return sql`UPDATE messages SET deleted_at = ${sqlTimestamp(pg, at)}, pending_delete_run = NULL, missing_since = NULL
    WHERE app_id = ${appId} AND pending_delete_run = ${runId} AND deleted_at IS NULL`;
}

/**
 * Re-queues for a full re-read every history the message pass finished since `since`: forgetting
 * its lastMessage and newest message makes the next pass page it to the end again. Used when the
 * page-size proof that let histories end at a short page is revoked (a superset of the histories
 * closed early, which is safe: re-reading a mirrored message writes nothing). Served by the
 * message_sync_state primary key (app_id, …).
 */
export function requeueHistoriesSince(pg: boolean, appId: string, since: Date): Sql {
  return sql`UPDATE message_sync_state SET last_message_id = NULL, newest_message_at = NULL
    WHERE app_id = ${appId} AND synced_at >= ${sqlTimestamp(pg, since)}`;
}
