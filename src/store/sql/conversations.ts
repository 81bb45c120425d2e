// Statements of the conversations family: the conversations table as a mirror table (its upsert
// is the shared one in ./upsert.ts), its participants, and the reads of `status` and the demo.
import type { Conversation } from "../../talkjs/types.ts";
import { lastActivityOf } from "../../talkjs/types.ts";
import { join, type Sql, sql, sqlEpochMs, sqlJson } from "./shared.ts";
import { defineMirrorTable } from "./upsert.ts";

/** conversations: one row per conversation, the API object in `raw` plus the columns analytics need. */
export const CONVERSATIONS = defineMirrorTable<Conversation>({
  table: "conversations",
  columns: [
    "subject",
    "photo_url",
    "topic_id",
    "welcome_messages",
    "custom",
    "last_message",
    "last_message_at",
    "last_message_id",
    "last_message_sender_id",
    "created_at",
    "last_activity_at",
    "participant_count",
    "raw",
  ],
  runColumn: "seen_run_id",
  id: (c) => c.id,
  values: (c, pg) => {
    const last = c.lastMessage;
    return [
      c.subject ?? null,
      c.photoUrl ?? null,
      c.topicId ?? null,
      sqlJson(pg, c.welcomeMessages),
      sqlJson(pg, c.custom ?? {}),
      sqlJson(pg, last),
      sqlEpochMs(pg, last?.createdAt),
      last?.id ?? null,
      last?.senderId ?? null,
      sqlEpochMs(pg, c.createdAt),
      sqlEpochMs(pg, lastActivityOf(c)),
      Object.keys(c.participants ?? {}).length,
      sqlJson(pg, c),
    ];
  },
});

export const PARTICIPANT_COLUMNS = 5;

/** Participants of conversations about to get their current set. Served by the primary key
 * (app_id, conversation_id, user_id). */
export function deleteParticipants(appId: string, conversationIds: readonly string[]): Sql {
  return sql`DELETE FROM conversation_participants
    WHERE app_id = ${appId} AND conversation_id IN (${join(conversationIds)})`;
}

/** One (app_id, conversation_id, user_id, access, notify) tuple. */
export function participantRow(
  appId: string,
  conversationId: string,
  userId: string,
  p: { access: string; notify: boolean },
): Sql {
  return sql`(${appId}, ${conversationId}, ${userId}, ${p.access}, ${p.notify})`;
}

/**
 * The current participants. ON CONFLICT covers a concurrent writer that inserted the same
 * conversation's participants after our DELETE's snapshot (PostgreSQL, READ COMMITTED).
 */
export function insertParticipants(rows: readonly Sql[]): Sql {
  return sql`INSERT INTO conversation_participants (app_id, conversation_id, user_id, access, notify)
    VALUES ${join(rows)}
    ON CONFLICT (app_id, conversation_id, user_id) DO UPDATE SET access = excluded.access, notify = excluded.notify`;
}

/**
 * `status`: live and deleted conversations, participants, newest activity and last sync of one
 * app. One pass over the app's rows (primary key range on app_id); the participant count is a
 * range of the participants' primary key.
 */
export function conversationStats(appId: string): Sql {
  return sql`SELECT SUM(CASE WHEN deleted_at IS NULL THEN 1 ELSE 0 END) AS live,
      SUM(CASE WHEN deleted_at IS NULL THEN 0 ELSE 1 END) AS deleted,
      (SELECT COUNT(*) FROM conversation_participants p WHERE p.app_id = ${appId}) AS participants,
      MAX(last_activity_at) AS newest_activity_at,
      MAX(synced_at) AS last_synced_at
    FROM conversations WHERE app_id = ${appId}`;
}

/** The demo's row-by-row check: every conversation's content hash and deletion. Primary key range. */
export function conversationHashes(appId: string): Sql {
  return sql`SELECT id, content_hash, deleted_at FROM conversations WHERE app_id = ${appId}`;
}

/**
 * PostgreSQL only: fresh planner statistics after a bulk load into empty tables (see
 * refreshPlannerStats in src/sync/backfill.ts for the measurement behind it).
 */
export function analyzeConversations(): Sql {
  return sql`ANALYZE conversations, conversation_participants`;
}
