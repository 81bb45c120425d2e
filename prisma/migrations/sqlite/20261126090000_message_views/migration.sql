-- Message analytics views (written by hand, like 20261125120000_analytics_views: Prisma does not
-- model views and `npm run db:check` ignores them). Same names, columns and value types as the
-- PostgreSQL migration of the same name, so docs/analytics.md and `report` run unchanged on both:
-- days as 'YYYY-MM-DD' (UTC) text, instants as Unix ms, flags as 0/1, counts as integers.
-- A later migration that redefines `messages` or `conversations` must DROP these views first
-- (v_message_replies, v_daily_messages, v_live_messages, v_messages — dependents first).
BEGIN;

-- Every mirrored message, live and deleted, with its conversation's subject and deletion flag.
-- LEFT JOIN: a message row is kept whatever happens to its conversation row.
CREATE VIEW "v_messages" AS
SELECT
    m.app_id,
    m.id,
    m.conversation_id,
    c.subject AS conversation_subject,
    m.sender_id,
    m.type,
    m.text,
    m.origin,
    m.referenced_message_id,
    CASE WHEN m.attachment IS NULL THEN 0 ELSE 1 END AS has_attachment,
    CASE WHEN m.edited_at IS NULL THEN 0 ELSE 1 END AS is_edited,
    CASE WHEN m.deleted_at IS NULL THEN 0 ELSE 1 END AS is_deleted,
    CASE WHEN c.deleted_at IS NULL THEN 0 ELSE 1 END AS conversation_is_deleted,
    m.created_at,
    m.edited_at,
    m.deleted_at,
    m.first_seen_at,
    m.synced_at,
    m.updated_at,
    substr(m.created_at, 1, 10) AS created_day,
    substr(m.deleted_at, 1, 10) AS deleted_day,
    CAST(round((julianday(m.created_at) - 2440587.5) * 86400000) AS INTEGER) AS created_at_ms
FROM "messages" m
LEFT JOIN "conversations" c ON c.app_id = m.app_id AND c.id = m.conversation_id;

-- Messages that still exist at TalkJS: not deleted themselves, and their conversation not deleted.
CREATE VIEW "v_live_messages" AS
SELECT * FROM "v_messages" WHERE is_deleted = 0 AND conversation_is_deleted = 0;

-- Live messages per app and UTC day (days without messages have no row).
CREATE VIEW "v_daily_messages" AS
SELECT
    app_id,
    created_day AS day,
    CAST(round(julianday(date('now')) - julianday(created_day)) AS INTEGER) AS days_ago,
    CAST(COUNT(*) AS INTEGER) AS messages,
    CAST(SUM(CASE WHEN type = 'SystemMessage' THEN 0 ELSE 1 END) AS INTEGER) AS user_messages,
    CAST(SUM(CASE WHEN type = 'SystemMessage' THEN 1 ELSE 0 END) AS INTEGER) AS system_messages,
    CAST(SUM(has_attachment) AS INTEGER) AS with_attachment,
    CAST(COUNT(DISTINCT sender_id) AS INTEGER) AS senders,
    CAST(COUNT(DISTINCT conversation_id) AS INTEGER) AS conversations
FROM "v_live_messages"
GROUP BY app_id, created_day;

-- Replies: a live message with a sender whose previous message in the same conversation (in
-- (created_at, id) order, system messages left out) came from someone else. response_ms is the
-- time between the two: how long that person waited for an answer.
CREATE VIEW "v_message_replies" AS
SELECT
    app_id,
    conversation_id,
    message_id,
    sender_id,
    previous_message_id,
    previous_sender_id,
    created_day AS day,
    created_at_ms,
    created_at_ms - previous_at_ms AS response_ms
FROM (
    SELECT
        m.app_id,
        m.conversation_id,
        m.id AS message_id,
        m.sender_id,
        m.created_day,
        m.created_at_ms,
        LAG(m.id) OVER w AS previous_message_id,
        LAG(m.sender_id) OVER w AS previous_sender_id,
        LAG(m.created_at_ms) OVER w AS previous_at_ms
    FROM "v_live_messages" m
    WHERE m.sender_id IS NOT NULL
    WINDOW w AS (PARTITION BY m.app_id, m.conversation_id ORDER BY m.created_at_ms, m.id)
) x
WHERE previous_sender_id IS NOT NULL AND previous_sender_id <> sender_id;

COMMIT;
