-- Users analytics views (written by hand: Prisma does not model views, and `npm run db:check`
-- ignores them). Same names, columns and value types as the PostgreSQL migration of the same
-- name, so the SQL in docs/analytics.md runs unchanged on both databases.
BEGIN;

-- One row per mirrored user: primary_email is the first address, is_erased says `forget` ran.
CREATE VIEW "v_users" AS
SELECT
    u.app_id,
    u.id,
    u.name,
    u.email,
    json_extract(u.email, '$[0]') AS primary_email,
    u.phone,
    u.role,
    u.locale,
    u.custom,
    CASE WHEN u.deleted_at IS NULL THEN 0 ELSE 1 END AS is_deleted,
    CASE WHEN e.user_id IS NULL THEN 0 ELSE 1 END AS is_erased,
    u.created_at,
    u.first_seen_at,
    u.synced_at,
    u.updated_at,
    u.deleted_at,
    substr(u.created_at, 1, 10) AS created_day
FROM "users" u
LEFT JOIN "erasures" e ON e.app_id = u.app_id AND e.user_id = u.id;

-- v_participants with the participant's name (null when the user is not mirrored).
CREATE VIEW "v_participants_named" AS
SELECT p.*, u.name AS user_name
FROM "v_participants" p
LEFT JOIN "users" u ON u.app_id = p.app_id AND u.id = p.user_id;

-- v_live_messages with the sender's name (null for system messages and unmirrored senders).
CREATE VIEW "v_live_messages_named" AS
SELECT m.*, u.name AS sender_name
FROM "v_live_messages" m
LEFT JOIN "users" u ON u.app_id = m.app_id AND u.id = m.sender_id;

COMMIT;
