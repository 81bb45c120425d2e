-- Analytics views (written by hand: Prisma does not model views, and `npm run db:check` ignores them).
-- Same names, columns and value types as the PostgreSQL migration of the same name, so the SQL in
-- docs/analytics.md runs unchanged on both databases. SQLite stores timestamps as ISO-8601 UTC text
-- ('2026-01-15T12:30:45.123+00:00') and JSON as text; the *_day, *_ms and days_* columns hide that.
-- Uses json_extract/julianday rather than ->>/unixepoch so older sqlite3 shells can read the views.
-- A later migration that redefines `conversations`, `conversation_participants` or `sync_runs` must
-- DROP these views first and CREATE them again afterwards.
BEGIN;

CREATE VIEW "v_conversations" AS
SELECT
    c.app_id,
    c.id,
    c.subject,
    c.photo_url,
    c.topic_id,
    c.custom,
    json_extract(c.last_message, '$.text') AS last_message_text,
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
    substr(c.created_at, 1, 10) AS created_day,
    substr(c.last_activity_at, 1, 10) AS last_activity_day,
    substr(c.deleted_at, 1, 10) AS deleted_day,
    CAST(round((julianday(c.created_at) - 2440587.5) * 86400000) AS INTEGER) AS created_at_ms,
    CAST(round((julianday(c.last_activity_at) - 2440587.5) * 86400000) AS INTEGER) AS last_activity_at_ms,
    julianday('now') - julianday(c.created_at) AS days_since_created,
    julianday('now') - julianday(c.last_activity_at) AS days_since_activity
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
    CAST(j.key AS TEXT) AS field,
    CAST(j.value AS TEXT) AS value,
    CASE WHEN c.deleted_at IS NULL THEN 0 ELSE 1 END AS is_deleted
FROM "conversations" c, json_each(c.custom) j;

CREATE VIEW "v_daily_activity" AS
SELECT
    app_id,
    day,
    CAST(round(julianday(date('now')) - julianday(day)) AS INTEGER) AS days_ago,
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
    substr(r.started_at, 1, 10) AS started_day,
    CAST(round((julianday(r.finished_at) - julianday(r.started_at)) * 86400000) AS INTEGER) AS duration_ms,
    r.pages,
    r.fetched,
    r.inserted,
    r.updated,
    r.unchanged,
    r.marked_deleted,
    r.error
FROM "sync_runs" r;

COMMIT;
