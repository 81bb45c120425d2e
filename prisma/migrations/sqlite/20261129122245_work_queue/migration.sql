BEGIN;

-- CreateTable
CREATE TABLE "work_queue" (
    "app_id" TEXT NOT NULL,
    "kind" TEXT NOT NULL,
    "key" TEXT NOT NULL,
    "enqueued_at" DATETIME NOT NULL,

    PRIMARY KEY ("app_id", "kind", "key")
);

-- Fill the queue from the existing mirror: conversations whose messages are behind their lastMessage
-- (what the message pass used to find by joining every conversation with message_sync_state).
INSERT INTO "work_queue" ("app_id", "kind", "key", "enqueued_at")
SELECT c."app_id", 'messages', c."id", strftime('%Y-%m-%dT%H:%M:%f+00:00', 'now')
FROM "conversations" c
LEFT JOIN "message_sync_state" s ON s."app_id" = c."app_id" AND s."conversation_id" = c."id"
WHERE c."deleted_at" IS NULL AND c."last_message_id" IS NOT NULL
  AND (s."last_message_id" IS NULL OR s."last_message_id" <> c."last_message_id");

COMMIT;
