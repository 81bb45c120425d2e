-- The link between a message `restore --into-source` put back and the message it restores (written
-- by hand: Prisma does not model views, and `npm run db:check` ignores them). Restored messages get
-- new ids at TalkJS, so the next sync mirrors them as rows of their own, and this view says which old
-- row each one restores (old → new ids come from restore_ledger). Same on both databases.
-- A later migration that rebuilds restore_ledger on SQLite must drop and recreate this view.
BEGIN;

CREATE VIEW "v_restored_messages" AS
SELECT
    l.source_app_id AS app_id,
    l.target_id AS message_id,
    l.source_id AS restored_from,
    l.conversation_id,
    l.updated_at AS restored_at
FROM "restore_ledger" l
WHERE l.kind = 'message'
  AND l.status = 'applied'
  AND l.target_app_id = l.source_app_id
  AND l.target_id IS NOT NULL
  AND l.target_id <> l.source_id;

COMMIT;
