// Statements of `verify`: reads only. A uniform sample is drawn over every mirrored conversation
// (live and deleted) by keyset-paging its ids, then the sampled rows and their messages are read.
import { empty, join, type Sql, sql } from "./shared.ts";

/** Conversation ids of one app (live and deleted), keyset-paged in id order. Primary key (app_id, id). */
export function conversationIdPage(appId: string, limit: number, afterId?: string): Sql {
  const after = afterId === undefined ? empty : sql`AND id > ${afterId}`;
  return sql`SELECT id FROM conversations WHERE app_id = ${appId} ${after} ORDER BY id LIMIT ${limit}`;
}

/** The stored copy of some conversations, as verify compares it. Primary key. */
export function conversationsToVerify(appId: string, ids: readonly string[]): Sql {
  return sql`SELECT c.id, c.content_hash, c.raw, c.synced_at, c.deleted_at, s.synced_at AS messages_synced_at
    FROM conversations c
    LEFT JOIN message_sync_state s ON s.app_id = c.app_id AND s.conversation_id = c.id
    WHERE c.app_id = ${appId} AND c.id IN (${join(ids)})`;
}

/** One conversation's mirrored messages (live and deleted). Index (app_id, conversation_id, created_at). */
export function messagesToVerify(appId: string, conversationId: string): Sql {
  return sql`SELECT id, content_hash, raw, synced_at, deleted_at FROM messages
    WHERE app_id = ${appId} AND conversation_id = ${conversationId}`;
}
