-- Analytics views (written by hand: Prisma does not model views, and `npm run db:check` ignores them).
-- Same names, columns and value types as the SQLite migration of the same name, so the SQL in
-- docs/analytics.md runs unchanged on both databases. Days are UTC calendar days as 'YYYY-MM-DD'
-- text, instants also as epoch milliseconds, flags as 0/1 integers, counts as integer (not bigint).
-- A later migration that alters a column these views select must DROP the views first and
-- CREATE them again afterwards (PostgreSQL refuses to change a column a view depends on).
BEGIN;

CREATE VIEW "v_conversations" AS
SELECT
    c.app_id,
    c.id,
    c.subject,
    c.photo_url,
    c.topic_id,
    c.custom,
    c.last_message ->> 'text' AS last_message_text,
    c.last_message_sender_id,
    c.participant_count,
    CASE WHEN c.last_message_id IS NULL THEN 0 ELSE 1 END AS has_messages,
    CASE WHEN c.deleted_at IS NULL THEN 0 ELSE 1 END AS is_deleted,
    c.created_at,
    c.last_message_at,
    c.last_activity_at,
    c.deleted_at,
    c.first_seen_at,
    c.synced_at,
    c.updated_at,
    to_char(c.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD') AS created_day,
    to_char(c.last_activity_at AT TIME ZONE 'UTC', 'YYYY-MM-DD') AS last_activity_day,
    to_char(c.deleted_at AT TIME ZONE 'UTC', 'YYYY-MM-DD') AS deleted_day,
    CAST(round(EXTRACT(EPOCH FROM c.created_at) * 1000) AS BIGINT) AS created_at_ms,
    CAST(round(EXTRACT(EPOCH FROM c.last_activity_at) * 1000) AS BIGINT) AS last_activity_at_ms,
    CAST(EXTRACT(EPOCH FROM (now() - c.created_at)) / 86400 AS DOUBLE PRECISION) AS days_since_created,
    CAST(EXTRACT(EPOCH FROM (now() - c.last_activity_at)) / 86400 AS DOUBLE PRECISION) AS days_since_activity
FROM "conversations" c;

CREATE VIEW "v_live_conversations" AS
SELECT * FROM "v_conversations" WHERE is_deleted = 0;

CREATE VIEW "v_participants" AS
SELECT
    p.app_id,
    p.conversation_id,
    p.user_id,
    p.access,
    CASE WHEN p.notify THEN 1 ELSE 0 END AS notify,
    CASE WHEN c.last_message_sender_id = p.user_id THEN 1 ELSE 0 END AS sent_last_message,
    c.is_deleted,
    c.has_messages,
    c.created_at,
    c.last_activity_at,
    c.created_day,
    c.last_activity_day
FROM "conversation_participants" p
JOIN "v_conversations" c ON c.app_id = p.app_id AND c.id = p.conversation_id;

CREATE VIEW "v_custom_fields" AS
SELECT
    c.app_id,
    c.id AS conversation_id,
    j.key AS field,
    j.value AS value,
    CASE WHEN c.deleted_at IS NULL THEN 0 ELSE 1 END AS is_deleted
FROM "conversations" c
CROSS JOIN LATERAL jsonb_each_text(CASE WHEN jsonb_typeof(c.custom) = 'object' THEN c.custom ELSE '{}'::jsonb END) AS j(key, value);

CREATE VIEW "v_daily_activity" AS
SELECT
    app_id,
    day,
    CAST((now() AT TIME ZONE 'UTC')::date - CAST(day AS date) AS INTEGER) AS days_ago,
    CAST(SUM(created) AS INTEGER) AS created,
    CAST(SUM(active) AS INTEGER) AS active,
    CAST(SUM(deleted) AS INTEGER) AS deleted
FROM (
    SELECT app_id, created_day AS day, 1 AS created, 0 AS active, 0 AS deleted FROM "v_conversations"
    UNION ALL
    SELECT app_id, last_activity_day, 0, 1, 0 FROM "v_conversations"
    UNION ALL
    SELECT app_id, deleted_day, 0, 0, 1 FROM "v_conversations" WHERE deleted_day IS NOT NULL
) d
GROUP BY app_id, day;

CREATE VIEW "v_sync_runs" AS
SELECT
    r.id,
    r.app_id,
    r.kind,
    r.status,
    r.started_at,
    r.finished_at,
    to_char(r.started_at AT TIME ZONE 'UTC', 'YYYY-MM-DD') AS started_day,
    CAST(round(EXTRACT(EPOCH FROM (r.finished_at - r.started_at)) * 1000) AS INTEGER) AS duration_ms,
    r.pages,
    r.fetched,
    r.inserted,
    r.updated,
    r.unchanged,
    r.marked_deleted,
    r.error
FROM "sync_runs" r;

COMMIT;
