// Statements of the privacy family: the erasures table, erasing one user's personal data in
// place (`forget`), and hard-deleting rows soft-deleted before a date (`purge`, the one command
// that removes rows).
import { join, type Sql, sql, sqlJson, sqlTimestamp } from "./shared.ts";

/** The erased users of an app (primary key range; the table holds ids and times only). */
export function erasedUserIds(appId: string): Sql {
  return sql`SELECT user_id FROM erasures WHERE app_id = ${appId}`;
}

/** Records an erasure; a repeated `forget` keeps the first time (idempotent). Primary key. */
export function insertErasure(pg: boolean, appId: string, userId: string, at: Date): Sql {
  return sql`INSERT INTO erasures (app_id, user_id, erased_at) VALUES (${appId}, ${userId}, ${sqlTimestamp(pg, at)})
    ON CONFLICT (app_id, user_id) DO NOTHING`;
}

/** `forget --undo`. Primary key. */
export function deleteErasure(appId: string, userId: string): Sql {
  return sql`DELETE FROM erasures WHERE app_id = ${appId} AND user_id = ${userId}`;
}

/** The user's row, to blank it. Primary key. */
export function userRaw(appId: string, userId: string): Sql {
  return sql`SELECT id, raw FROM users WHERE app_id = ${appId} AND id = ${userId}`;
}

/** Messages the user sent, live or deleted, keyset-paged by id. Index (app_id, sender_id, created_at). */
export function messagesBySender(appId: string, userId: string, afterId: string, limit: number): Sql {
  return sql`SELECT id, raw FROM messages WHERE app_id = ${appId} AND sender_id = ${userId} AND id > ${afterId}
    ORDER BY id LIMIT ${limit}`;
}

/** Conversations whose stored lastMessage was sent by the user (a scan of the app's rows: rare command). */
export function conversationsLastSentBy(appId: string, userId: string): Sql {
  return sql`SELECT id, raw FROM conversations WHERE app_id = ${appId} AND last_message_sender_id = ${userId}`;
}

/** Run and stream error texts of the app (searched in code for the user's personal strings). */
export function runErrors(appId: string): Sql {
  return sql`SELECT id, error FROM sync_runs WHERE app_id = ${appId} AND error IS NOT NULL`;
}

export function streamErrors(appId: string): Sql {
  return sql`SELECT stream, last_error FROM sync_state WHERE app_id = ${appId} AND last_error IS NOT NULL`;
}

export function blankRunError(id: number): Sql {
  return sql`UPDATE sync_runs SET error = '[erased]' WHERE id = ${id}`;
}

export function blankStreamError(appId: string, stream: string): Sql {
  return sql`UPDATE sync_state SET last_error = '[erased]' WHERE app_id = ${appId} AND stream = ${stream}`;
}

/** Overwrites a user row with its blanked object (ids and times kept). Primary key. */
export function eraseUserRow(
  pg: boolean,
  appId: string,
  raw: Record<string, unknown>,
  hash: string,
  at: Date,
): Sql {
  return sql`UPDATE users SET name = NULL, email = NULL, phone = NULL, locale = NULL,
      custom = ${sqlJson(pg, {})}, raw = ${sqlJson(pg, raw)}, content_hash = ${hash}, updated_at = ${sqlTimestamp(pg, at)}
    WHERE app_id = ${appId} AND id = ${raw.id as string}`;
}

/** Overwrites a message row with its blanked object: text, content, attachment, location, custom. */
export function eraseMessageRow(
  pg: boolean,
  appId: string,
  raw: Record<string, unknown>,
  hash: string,
  at: Date,
): Sql {
  return sql`UPDATE messages SET text = ${raw.text as string}, content = NULL, attachment = NULL, location = NULL,
      custom = ${sqlJson(pg, {})}, raw = ${sqlJson(pg, raw)}, content_hash = ${hash}, updated_at = ${sqlTimestamp(pg, at)}
    WHERE app_id = ${appId} AND id = ${raw.id as string}`;
}

/** Overwrites a conversation's lastMessage (column and raw) with the blanked one. Primary key. */
export function eraseConversationLastMessage(
  pg: boolean,
  appId: string,
  raw: Record<string, unknown>,
  hash: string,
  at: Date,
): Sql {
  return sql`UPDATE conversations SET last_message = ${sqlJson(pg, raw.lastMessage)}, raw = ${sqlJson(pg, raw)},
      content_hash = ${hash}, updated_at = ${sqlTimestamp(pg, at)}
    WHERE app_id = ${appId} AND id = ${raw.id as string}`;
}

/** What `purge` removes, counted: rows soft-deleted before `before`, by table. Index (app_id, deleted_at). */
export function purgeCounts(pg: boolean, appId: string, before: Date): Sql {
  const b = sqlTimestamp(pg, before);
  return sql`SELECT
      (SELECT COUNT(*) FROM conversations WHERE app_id = ${appId} AND deleted_at < ${b}) AS conversations,
      (SELECT COUNT(*) FROM messages m WHERE m.app_id = ${appId} AND (m.deleted_at < ${b} OR m.conversation_id IN
        (SELECT c.id FROM conversations c WHERE c.app_id = ${appId} AND c.deleted_at < ${b}))) AS messages,
      (SELECT COUNT(*) FROM users WHERE app_id = ${appId} AND deleted_at < ${b}) AS users`;
}

/** Messages soft-deleted before `before`, and every message of a conversation purged with it. */
export function purgeMessages(pg: boolean, appId: string, before: Date): Sql {
  const b = sqlTimestamp(pg, before);
  return sql`DELETE FROM messages WHERE app_id = ${appId} AND (deleted_at < ${b} OR conversation_id IN
    (SELECT c.id FROM conversations c WHERE c.app_id = ${appId} AND c.deleted_at < ${b}))`;
}

/** The ids of the messages `purgeMessages` removes (a subquery: their message_files rows go with them). */
function purgedMessageIds(pg: boolean, appId: string, before: Date): Sql {
  const b = sqlTimestamp(pg, before);
  return sql`SELECT id FROM messages WHERE app_id = ${appId} AND (deleted_at < ${b} OR conversation_id IN
    (SELECT c.id FROM conversations c WHERE c.app_id = ${appId} AND c.deleted_at < ${b}))`;
}

/** How many file references (any status) the purged messages have. Primary key (app_id, message_id, …). */
export function purgedFileRefCount(pg: boolean, appId: string, before: Date): Sql {
  return sql`SELECT COUNT(*) AS n FROM message_files
    WHERE app_id = ${appId} AND message_id IN (${purgedMessageIds(pg, appId, before)})`;
}

/** The purged messages' file references: run before `purgeMessages`, whose rows the subquery reads. */
export function purgeFileRefs(pg: boolean, appId: string, before: Date): Sql {
  return sql`DELETE FROM message_files
    WHERE app_id = ${appId} AND message_id IN (${purgedMessageIds(pg, appId, before)})`;
}

/** Archived files only the purged messages point to (the rule `forget` uses, see `blobsOnlyOf`). */
export function blobsOnlyOfPurged(pg: boolean, appId: string, before: Date): Sql {
  return blobsOnlyOf(appId, purgedMessageIds(pg, appId, before));
}

/** The message state of conversations about to be purged. */
export function purgeMessageState(pg: boolean, appId: string, before: Date): Sql {
  return sql`DELETE FROM message_sync_state WHERE app_id = ${appId} AND conversation_id IN
    (SELECT c.id FROM conversations c WHERE c.app_id = ${appId} AND c.deleted_at < ${sqlTimestamp(pg, before)})`;
}

/** Conversations soft-deleted before `before`; their participants go by the foreign key's cascade. */
export function purgeConversations(pg: boolean, appId: string, before: Date): Sql {
  return sql`DELETE FROM conversations WHERE app_id = ${appId} AND deleted_at < ${sqlTimestamp(pg, before)}`;
}

export function purgeUsers(pg: boolean, appId: string, before: Date): Sql {
  return sql`DELETE FROM users WHERE app_id = ${appId} AND deleted_at < ${sqlTimestamp(pg, before)}`;
}

/** Participants of the purged conversations (also removed by the cascade; explicit for SQLite without FK enforcement). */
export function purgeParticipants(pg: boolean, appId: string, before: Date): Sql {
  return sql`DELETE FROM conversation_participants WHERE app_id = ${appId} AND conversation_id IN
    (SELECT c.id FROM conversations c WHERE c.app_id = ${appId} AND c.deleted_at < ${sqlTimestamp(pg, before)})`;
}

/** The user's messages (a subquery: the erased rows of message_files are those of these messages). */
function senderMessageIds(appId: string, userId: string): Sql {
  return sql`SELECT id FROM messages WHERE app_id = ${appId} AND sender_id = ${userId}`;
}

/**
 * The not yet erased file references of the user's messages (their URLs and names are searched
 * for in error texts too). Index (app_id, sender_id, created_at) for the messages, primary key here.
 */
export function senderFileRefs(appId: string, userId: string): Sql {
  return sql`SELECT message_id, block_index, url, filename FROM message_files
    WHERE app_id = ${appId} AND status <> 'erased' AND message_id IN (${senderMessageIds(appId, userId)})`;
}

/**
 * Archived files only the given messages (a subquery of message ids of the app) point to: no other
 * reference (of another message, or of another app: file_blobs has no app_id) has the same
 * sha256. Index (sha256). The one blob rule of `forget` and `purge`.
 */
function blobsOnlyOf(appId: string, messageIds: Sql): Sql {
  return sql`SELECT DISTINCT f.sha256 FROM message_files f
    WHERE f.app_id = ${appId} AND f.sha256 IS NOT NULL AND f.message_id IN (${messageIds})
      AND NOT EXISTS (SELECT 1 FROM message_files o WHERE o.sha256 = f.sha256
        AND NOT (o.app_id = ${appId} AND o.message_id IN (${messageIds})))`;
}

/** Archived files only the user's messages point to. */
export function blobsOnlyOfSender(appId: string, userId: string): Sql {
  return blobsOnlyOf(appId, senderMessageIds(appId, userId));
}

/**
 * Blanks the user's file references: URL and name go, ids, block index and declared size stay;
 * status `erased` is never due (next_attempt_at far away, and `dueFiles` takes pending/failed only).
 */
export function eraseSenderFileRefs(pg: boolean, appId: string, userId: string, at: Date): Sql {
  return sql`UPDATE message_files SET url = '', filename = NULL, status = 'erased', sha256 = NULL,
      last_error = NULL, missing_since = NULL, next_attempt_at = ${sqlTimestamp(pg, new Date(Date.UTC(9999, 0, 1)))},
      updated_at = ${sqlTimestamp(pg, at)}
    WHERE app_id = ${appId} AND status <> 'erased' AND message_id IN (${senderMessageIds(appId, userId)})`;
}

/** Removes archived files' rows (their bytes are removed from FILES_DIR after the commit). */
export function deleteBlobs(sha256s: readonly string[]): Sql {
  return sql`DELETE FROM file_blobs WHERE sha256 IN (${join(sha256s.map((s) => sql`${s}`))})`;
}
