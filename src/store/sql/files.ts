// Statements of the files family: message_files (every file a message points to and how archiving
// it went) and file_blobs (the content-addressed files themselves).
import { join, type Sql, sql, sqlDistinct, sqlTimestamp } from "./shared.ts";

/** One file reference of a message, as registered. */
export interface FileRefRow {
  appId: string;
  messageId: string;
  blockIndex: number;
  conversationId: string;
  url: string;
  declaredSize: number | null;
  filename: string | null;
}

/** Parameters one registered row binds (12 columns). */
export const FILE_REF_PARAMS = 12;

/**
 * Registers file references (insert new ones as pending). A known block whose URL, size or name
 * changed (a re-read handed out a new URL) takes the new values and, unless its file is already
 * stored, becomes pending again at once with a fresh 403/404 streak: the new URL may work.
 * Unchanged references are left alone (the WHERE), so re-registering is cheap and idempotent.
 */
export function registerFileRefs(pg: boolean, rows: readonly FileRefRow[], now: Date): Sql {
  const at = sqlTimestamp(pg, now);
  const values = rows.map(
    (r) =>
      sql`(${r.appId}, ${r.messageId}, ${r.blockIndex}, ${r.conversationId}, ${r.url}, ${r.declaredSize},
        ${r.filename}, 'pending', 0, ${at}, ${at}, ${at})`,
  );
  const distinct = sqlDistinct(pg);
  return sql`INSERT INTO message_files (app_id, message_id, block_index, conversation_id, url, declared_size,
      filename, status, attempts, next_attempt_at, first_seen_at, updated_at)
    VALUES ${join(values)}
    ON CONFLICT (app_id, message_id, block_index) DO UPDATE SET
      url = excluded.url,
      declared_size = excluded.declared_size,
      filename = excluded.filename,
      status = CASE WHEN message_files.status = 'stored' THEN 'stored' ELSE 'pending' END,
      next_attempt_at = excluded.next_attempt_at,
      missing_since = NULL,
      updated_at = excluded.updated_at
    WHERE message_files.url <> excluded.url
      OR message_files.declared_size ${distinct} excluded.declared_size
      OR message_files.filename ${distinct} excluded.filename`;
}

/**
 * Files to download now: pending or failed rows whose next attempt is due, oldest due first.
 * Served by the (app_id, status, next_attempt_at) index.
 */
export function dueFiles(pg: boolean, appId: string, now: Date, limit: number): Sql {
  return sql`SELECT message_id, block_index, conversation_id, url, declared_size, filename, attempts, missing_since
    FROM message_files
    WHERE app_id = ${appId} AND status IN ('pending', 'failed') AND next_attempt_at <= ${sqlTimestamp(pg, now)}
    ORDER BY next_attempt_at, message_id, block_index
    LIMIT ${limit}`;
}

/**
 * The blob an already archived reference with the same URL and size has (the same file in many
 * messages is then downloaded once). Served by the (app_id, url) index.
 */
export function storedBlobForUrl(appId: string, url: string): Sql {
  return sql`SELECT f.sha256 FROM message_files f JOIN file_blobs b ON b.sha256 = f.sha256
    WHERE f.app_id = ${appId} AND f.url = ${url} AND f.status = 'stored'
    LIMIT 1`;
}

/** Records a stored blob; the same bytes stored again keep their first row. */
export function insertBlob(
  pg: boolean,
  blob: { sha256: string; size: number; contentType: string | null; at: Date },
): Sql {
  return sql`INSERT INTO file_blobs (sha256, size, content_type, stored_at)
    VALUES (${blob.sha256}, ${blob.size}, ${blob.contentType}, ${sqlTimestamp(pg, blob.at)})
    ON CONFLICT (sha256) DO NOTHING`;
}

/** Whether a blob is recorded (a file written for a reference erased meanwhile is then removed). */
export function blobRow(sha256: string): Sql {
  return sql`SELECT sha256 FROM file_blobs WHERE sha256 = ${sha256}`;
}

/** `status`/`report`: references per status with their declared bytes. */
export function fileStatusCounts(appId: string): Sql {
  return sql`SELECT status, COUNT(*) AS files, SUM(declared_size) AS declared_bytes
    FROM message_files WHERE app_id = ${appId} GROUP BY status`;
}

/** Distinct stored blobs an app's messages point to, and their bytes on disk. */
export function storedBlobTotals(appId: string): Sql {
  return sql`SELECT COUNT(*) AS blobs, SUM(size) AS bytes FROM file_blobs
    WHERE sha256 IN (SELECT sha256 FROM message_files WHERE app_id = ${appId} AND status = 'stored')`;
}

/**
 * The history scan: mirrored messages that may point to files, keyset paged by id (primary key),
 * so the first files run after an upgrade registers what was mirrored before it.
 */
export function messagesWithFiles(appId: string, afterId: string, limit: number): Sql {
  return sql`SELECT id, conversation_id, attachment, content FROM messages
    WHERE app_id = ${appId} AND id > ${afterId} AND (attachment IS NOT NULL OR content IS NOT NULL)
    ORDER BY id
    LIMIT ${limit}`;
}

/** `export --with-files`: every stored reference, by conversation. */
export function storedFileRefs(appId: string): Sql {
  return sql`SELECT conversation_id, message_id, block_index, filename, url, sha256 FROM message_files
    WHERE app_id = ${appId} AND status = 'stored'
    ORDER BY conversation_id, message_id, block_index`;
}

/** Every file reference of an app with its state, by message (the demo's check and the tests). */
export function messageFilesOf(appId: string): Sql {
  return sql`SELECT message_id, block_index, conversation_id, url, declared_size, filename, status, attempts,
      last_error, sha256
    FROM message_files WHERE app_id = ${appId}
    ORDER BY message_id, block_index`;
}
