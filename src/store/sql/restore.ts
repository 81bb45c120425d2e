// Statements of the restore family: restore_ledger (what `restore` put into a target app, written
// before and after each request) and the reads of the mirror a restore sends from.
import { join, type Sql, sql, sqlTimestamp } from "./shared.ts";

export type LedgerKind = "user" | "conversation" | "message" | "file";
export type LedgerStatus = "pending" | "applied";

/** One ledger row as written. */
export interface LedgerRow {
  targetAppId: string;
  sourceAppId: string;
  kind: LedgerKind;
  sourceId: string;
  conversationId: string | null;
  targetId: string | null;
  batch: number | null;
  status: LedgerStatus;
  fingerprint: string | null;
}

/** Parameters one written row binds. */
export const LEDGER_PARAMS = 11;

/**
 * Writes ledger rows (insert, or overwrite the row of the same key): the intent (`pending`, before
 * the request) and the outcome (`applied`, after it). A known target id is never forgotten.
 */
export function writeLedger(pg: boolean, rows: readonly LedgerRow[], now: Date): Sql {
  const at = sqlTimestamp(pg, now);
  const values = rows.map(
    (r) =>
      sql`(${r.targetAppId}, ${r.sourceAppId}, ${r.kind}, ${r.sourceId}, ${r.conversationId}, ${r.targetId},
        ${r.batch}, ${r.status}, ${r.fingerprint}, ${at}, ${at})`,
  );
  return sql`INSERT INTO restore_ledger (target_app_id, source_app_id, kind, source_id, conversation_id,
      target_id, batch, status, fingerprint, created_at, updated_at)
    VALUES ${join(values)}
    ON CONFLICT (target_app_id, source_app_id, kind, source_id) DO UPDATE SET
      conversation_id = excluded.conversation_id,
      target_id = COALESCE(excluded.target_id, restore_ledger.target_id),
      batch = excluded.batch,
      status = excluded.status,
      fingerprint = excluded.fingerprint,
      updated_at = excluded.updated_at`;
}

/** The ledger rows of one kind (users, conversations): by primary key prefix. */
export function ledgerOfKind(targetAppId: string, sourceAppId: string, kind: LedgerKind): Sql {
  return sql`SELECT source_id, conversation_id, target_id, batch, status, fingerprint FROM restore_ledger
    WHERE target_app_id = ${targetAppId} AND source_app_id = ${sourceAppId} AND kind = ${kind}`;
}

/** The message rows of one conversation (the (target, source, conversation_id) index). */
export function ledgerOfConversation(targetAppId: string, sourceAppId: string, conversationId: string): Sql {
  return sql`SELECT source_id, conversation_id, target_id, batch, status, fingerprint FROM restore_ledger
    WHERE target_app_id = ${targetAppId} AND source_app_id = ${sourceAppId}
      AND conversation_id = ${conversationId} AND kind = 'message'`;
}

/** Counts per kind and status: the restore's summary and `status`. */
export function ledgerCounts(targetAppId: string, sourceAppId: string): Sql {
  return sql`SELECT kind, status, COUNT(*) AS n FROM restore_ledger
    WHERE target_app_id = ${targetAppId} AND source_app_id = ${sourceAppId}
    GROUP BY kind, status`;
}

/** The mirror's users a restore puts back (live ones; deleted too with `includeDeleted`). */
export function sourceUsers(appId: string, includeDeleted: boolean): Sql {
  return includeDeleted
    ? sql`SELECT id, raw FROM users WHERE app_id = ${appId} ORDER BY id`
    : sql`SELECT id, raw FROM users WHERE app_id = ${appId} AND deleted_at IS NULL ORDER BY id`;
}

/**
 * The mirror's conversations a restore puts back: `ids` (null: all), created or active since
 * `since` (null: any), deleted ones only with `includeDeleted`. Ordered by id for a stable plan.
 */
export function sourceConversations(
  pg: boolean,
  appId: string,
  opts: { ids: readonly string[] | null; since: Date | null; includeDeleted: boolean },
): Sql {
  const ids = opts.ids === null ? sql`` : sql` AND id IN (${join(opts.ids.length > 0 ? opts.ids : [""])})`;
  const since = opts.since === null ? sql`` : sql` AND last_activity_at >= ${sqlTimestamp(pg, opts.since)}`;
  const deleted = opts.includeDeleted ? sql`` : sql` AND deleted_at IS NULL`;
  return sql`SELECT id, raw, deleted_at FROM conversations WHERE app_id = ${appId}${ids}${since}${deleted} ORDER BY id`;
}

/** Participants of the conversations `ids`, with their access and notify. */
export function sourceParticipants(appId: string, ids: readonly string[]): Sql {
  return sql`SELECT conversation_id, user_id, access, notify FROM conversation_participants
    WHERE app_id = ${appId} AND conversation_id IN (${join(ids)})
    ORDER BY conversation_id, user_id`;
}

/** One conversation's mirrored messages, oldest first (the (app, conversation, created_at) index). */
export function sourceMessages(appId: string, conversationId: string, includeDeleted: boolean): Sql {
  const deleted = includeDeleted ? sql`` : sql` AND deleted_at IS NULL`;
  return sql`SELECT id, raw FROM messages
    WHERE app_id = ${appId} AND conversation_id = ${conversationId}${deleted}
    ORDER BY created_at, id`;
}

/**
 * The file references of some messages with how archiving them went and the archived blob's size
 * and type (primary key prefix (app_id, message_id); file_blobs by primary key).
 */
export function sourceMessageFiles(appId: string, messageIds: readonly string[]): Sql {
  return sql`SELECT mf.message_id, mf.block_index, mf.status, mf.sha256, mf.filename, mf.declared_size,
      fb.size AS blob_size, fb.content_type
    FROM message_files mf LEFT JOIN file_blobs fb ON fb.sha256 = mf.sha256
    WHERE mf.app_id = ${appId} AND mf.message_id IN (${join(messageIds)})
    ORDER BY mf.message_id, mf.block_index`;
}

/** What one restore step adds to an app's restore_totals. */
export interface RestoreTotalsDelta {
  runsSucceeded?: number;
  runsFailed?: number;
  messages?: number;
  files?: number;
}

/** Advances an app's restore totals (creates the row the first time). Primary key app_id. */
export function addRestoreTotals(pg: boolean, appId: string, d: RestoreTotalsDelta, now: Date): Sql {
  const at = sqlTimestamp(pg, now);
  return sql`INSERT INTO restore_totals (app_id, runs_succeeded, runs_failed, messages_restored, files_restored, updated_at)
    VALUES (${appId}, ${d.runsSucceeded ?? 0}, ${d.runsFailed ?? 0}, ${d.messages ?? 0}, ${d.files ?? 0}, ${at})
    ON CONFLICT (app_id) DO UPDATE SET
      runs_succeeded = restore_totals.runs_succeeded + excluded.runs_succeeded,
      runs_failed = restore_totals.runs_failed + excluded.runs_failed,
      messages_restored = restore_totals.messages_restored + excluded.messages_restored,
      files_restored = restore_totals.files_restored + excluded.files_restored,
      updated_at = excluded.updated_at`;
}

/** The scrape's read (/metrics): one row by primary key. */
export function readRestoreTotals(appId: string): Sql {
  return sql`SELECT runs_succeeded, runs_failed, messages_restored, files_restored
    FROM restore_totals WHERE app_id = ${appId}`;
}
