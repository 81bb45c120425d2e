// Statements of `report` and `export`. Report reads the analytics views (prisma/migrations/*/…
// _analytics_views and …_message_views: the same names, columns and types on SQLite and
// PostgreSQL), so its SQL is identical on both; export reads the tables. Every value — app id,
// custom field name, day, cut-off, keyset position, limit — is a bound parameter. Index notes:
// "app range" is the (app_id, id) primary key of conversations or messages, where a view has no
// better one.
import { empty, identifier, type Sql, sql, sqlTimestamp } from "./shared.ts";

// ---- report: conversations ----------------------------------------------------------------------

/** Totals: conversations, live, deleted, live with messages. App range of conversations. */
export function conversationTotals(appId: string): Sql {
  return sql`SELECT COUNT(*) AS conversations,
      SUM(1 - is_deleted) AS live,
      SUM(is_deleted) AS deleted,
      SUM(CASE WHEN is_deleted = 0 THEN has_messages ELSE 0 END) AS live_with_messages
    FROM v_conversations WHERE app_id = ${appId}`;
}

/** Distinct users and user × conversation rows of live conversations. Participants primary key. */
export function participantTotals(appId: string): Sql {
  return sql`SELECT COUNT(DISTINCT user_id) AS participants, COUNT(*) AS participations
    FROM v_participants WHERE app_id = ${appId} AND is_deleted = 0`;
}

/** Conversations created, active and deleted per UTC day since `firstDay` (YYYY-MM-DD). App range. */
export function dailyActivity(appId: string, firstDay: string): Sql {
  return sql`SELECT day, created, active, deleted FROM v_daily_activity
    WHERE app_id = ${appId} AND day >= ${firstDay} ORDER BY day`;
}

/**
 * The participants in most live conversations, with their name when the user is mirrored. The
 * participants' (app_id, user_id) index; the name by the users' primary key.
 */
export function topParticipants(appId: string, limit: number): Sql {
  return sql`SELECT user_id, MAX(user_name) AS user_name, COUNT(*) AS conversations,
      SUM(sent_last_message) AS last_messages
    FROM v_participants_named WHERE app_id = ${appId} AND is_deleted = 0
    GROUP BY user_id ORDER BY conversations DESC, user_id LIMIT ${limit}`;
}

/**
 * Live conversations by the value of one custom field (`report --by custom.FIELD`). The field is
 * a value compared with v_custom_fields.field, not an identifier. LEFT JOIN: conversations without
 * the field form one group with value NULL. App range of conversations.
 */
export function conversationsByCustomField(appId: string, field: string): Sql {
  return sql`SELECT f.value AS value, COUNT(*) AS conversations
    FROM v_live_conversations c
    LEFT JOIN v_custom_fields f
      ON f.app_id = c.app_id AND f.conversation_id = c.id AND f.field = ${field}
    WHERE c.app_id = ${appId}
    GROUP BY f.value ORDER BY conversations DESC, value`;
}

/** How many live conversations had no activity since `cutoffMs`. App range of conversations. */
export function dormantCount(appId: string, cutoffMs: number): Sql {
  return sql`SELECT COUNT(*) AS n FROM v_live_conversations
    WHERE app_id = ${appId} AND last_activity_at_ms < ${cutoffMs}`;
}

/** The longest-dormant live conversations, oldest activity first. App range of conversations. */
export function dormantOldest(appId: string, cutoffMs: number, limit: number): Sql {
  return sql`SELECT id, subject, last_activity_at_ms FROM v_live_conversations
    WHERE app_id = ${appId} AND last_activity_at_ms < ${cutoffMs}
    ORDER BY last_activity_at_ms, id LIMIT ${limit}`;
}

// ---- report: messages ---------------------------------------------------------------------------

/** Live messages, deleted ones, and messages kept from deleted conversations. App range of messages. */
export function messageTotals(appId: string): Sql {
  return sql`SELECT SUM(CASE WHEN is_deleted = 0 AND conversation_is_deleted = 0 THEN 1 ELSE 0 END) AS live,
      SUM(is_deleted) AS deleted,
      SUM(CASE WHEN is_deleted = 0 AND conversation_is_deleted = 1 THEN 1 ELSE 0 END) AS in_deleted
    FROM v_messages WHERE app_id = ${appId}`;
}

/** Distinct conversations and senders of live messages. App range of messages. */
export function messageSpread(appId: string): Sql {
  return sql`SELECT COUNT(DISTINCT conversation_id) AS conversations, COUNT(DISTINCT sender_id) AS senders
    FROM v_live_messages WHERE app_id = ${appId}`;
}

/** Live messages, senders and conversations per UTC day since `firstDay`. App range of messages. */
export function dailyMessages(appId: string, firstDay: string): Sql {
  return sql`SELECT day, messages, senders, conversations FROM v_daily_messages
    WHERE app_id = ${appId} AND day >= ${firstDay} ORDER BY day`;
}

/**
 * The senders of most live messages, with their name when mirrored. The messages' (app_id,
 * sender_id, created_at) index; the name by the users' primary key.
 */
export function topSenders(appId: string, limit: number): Sql {
  return sql`SELECT sender_id, MAX(sender_name) AS sender_name, COUNT(*) AS messages,
      COUNT(DISTINCT conversation_id) AS conversations, MAX(created_at_ms) AS last_at
    FROM v_live_messages_named WHERE app_id = ${appId} AND sender_id IS NOT NULL
    GROUP BY sender_id ORDER BY messages DESC, sender_id LIMIT ${limit}`;
}

/** What reply medians are grouped by: nothing (one overall median), the reply's day, its sender. */
export type ReplyGrouping = "all" | "day" | "sender";

const REPLY_KEYS: Record<ReplyGrouping, Sql> = { all: sql`NULL`, day: sql`day`, sender: sql`sender_id` };

/**
 * Medians of v_message_replies.response_ms, one per group, with the group's reply count; only
 * replies on or after `sinceDay` when given; the `limit` groups with most replies when given.
 * Portable: ROW_NUMBER and COUNT windows pick the middle row(s) of each group (two for an even
 * count, averaged), which works on SQLite and PostgreSQL alike (PostgreSQL's percentile_cont has
 * no SQLite twin). The sort happens in the database — spilling to disk there if it must — and at
 * most two rows per group come back: memory does not grow with the number of messages. The
 * replies view windows over the messages' (app_id, conversation_id, created_at) index.
 */
export function replyMedians(
  appId: string,
  by: ReplyGrouping,
  opts: { sinceDay?: string; limit?: number } = {},
): Sql {
  const key = REPLY_KEYS[by];
  const partition = by === "all" ? empty : sql`PARTITION BY ${key}`;
  const since = opts.sinceDay === undefined ? empty : sql`AND day >= ${opts.sinceDay}`;
  const limit = opts.limit === undefined ? empty : sql`LIMIT ${opts.limit}`;
  return sql`SELECT k, AVG(response_ms) AS median_ms, MAX(n) AS replies
    FROM (SELECT ${key} AS k, response_ms,
                 ROW_NUMBER() OVER (${partition} ORDER BY response_ms) AS rn,
                 COUNT(*) OVER (${partition}) AS n
            FROM v_message_replies WHERE app_id = ${appId} ${since}) r
    WHERE rn = (n + 1) / 2 OR rn = (n + 2) / 2
    GROUP BY k
    ORDER BY replies DESC, k ${limit}`;
}

// ---- export -------------------------------------------------------------------------------------

/** Which rows an export writes: live only unless `includeDeleted`; changed since `since`. */
export interface ExportFilter {
  includeDeleted: boolean;
  since: Date | undefined;
}

/**
 * One page of an export of conversations or users: id, raw and deleted_at in id order after
 * `afterId`, keyset-paged on the (app_id, id) primary key; `since` compares with updated_at and
 * deleted_at. A user's `raw` never holds push tokens (the client drops them before anything is stored).
 */
export function exportRawPage(
  table: "conversations" | "users",
  pg: boolean,
  appId: string,
  filter: ExportFilter,
  page: { afterId: string | undefined; limit: number },
): Sql {
  const live = filter.includeDeleted ? empty : sql`AND deleted_at IS NULL`;
  const since = filter.since ? sqlTimestamp(pg, filter.since) : undefined;
  const changed = since ? sql`AND (updated_at >= ${since} OR deleted_at >= ${since})` : empty;
  const after = page.afterId === undefined ? empty : sql`AND id > ${page.afterId}`;
  return sql`SELECT id, raw, deleted_at FROM ${identifier(table)}
    WHERE app_id = ${appId} ${live} ${changed} ${after}
    ORDER BY id LIMIT ${page.limit}`;
}

/** Where a message export page ends: the last row's (conversation_id, created_at, id). */
export interface MessageKeyset {
  conversationId: string;
  /** As the database returned it: SQLite's stored text goes back verbatim, a Date as a timestamp. */
  createdAt: string | Date;
  id: string;
}

/**
 * One page of the message export in (conversation_id, created_at, id) order — a conversation's
 * history oldest first — keyset-paged on that triple, which the messages' (app_id,
 * conversation_id, created_at) index serves. Without `includeDeleted` the messages of deleted
 * conversations are left out too (LEFT JOIN: a message without a conversation row is kept).
 */
export function exportMessages(
  pg: boolean,
  appId: string,
  filter: ExportFilter,
  page: { after: MessageKeyset | undefined; limit: number },
): Sql {
  const join = filter.includeDeleted
    ? empty
    : sql`LEFT JOIN conversations c ON c.app_id = m.app_id AND c.id = m.conversation_id`;
  const live = filter.includeDeleted ? empty : sql`AND m.deleted_at IS NULL AND c.deleted_at IS NULL`;
  const since = filter.since ? sqlTimestamp(pg, filter.since) : undefined;
  const changed = since ? sql`AND (m.updated_at >= ${since} OR m.deleted_at >= ${since})` : empty;
  const a = page.after;
  const createdAt =
    a && (typeof a.createdAt === "string" ? sql`${a.createdAt}` : sqlTimestamp(pg, a.createdAt));
  const after = a
    ? sql`AND (m.conversation_id, m.created_at, m.id) > (${a.conversationId}, ${createdAt}, ${a.id})`
    : empty;
  return sql`SELECT m.conversation_id, m.created_at, m.id, m.raw, m.deleted_at FROM messages m ${join}
    WHERE m.app_id = ${appId} ${live} ${changed} ${after}
    ORDER BY m.conversation_id, m.created_at, m.id LIMIT ${page.limit}`;
}
