BEGIN;

-- CreateTable
CREATE TABLE "messages" (
    "app_id" TEXT NOT NULL,
    "id" TEXT NOT NULL,
    "conversation_id" TEXT NOT NULL,
    "sender_id" TEXT,
    "type" TEXT NOT NULL,
    "text" TEXT,
    "custom" JSONB NOT NULL,
    "attachment" JSONB,
    "location" JSONB,
    "content" JSONB,
    "origin" TEXT,
    "created_at" DATETIME NOT NULL,
    "edited_at" DATETIME,
    "referenced_message_id" TEXT,
    "read_by" JSONB NOT NULL,
    "raw" JSONB NOT NULL,
    "content_hash" TEXT NOT NULL,
    "first_seen_at" DATETIME NOT NULL,
    "synced_at" DATETIME NOT NULL,
    "updated_at" DATETIME NOT NULL,
    "deleted_at" DATETIME,

    PRIMARY KEY ("app_id", "id")
);

-- CreateTable
CREATE TABLE "message_sync_state" (
    "app_id" TEXT NOT NULL,
    "conversation_id" TEXT NOT NULL,
    "last_message_id" TEXT,
    "newest_message_at" DATETIME,
    "synced_at" DATETIME NOT NULL,
    "deep_synced_at" DATETIME,

    PRIMARY KEY ("app_id", "conversation_id")
);

-- CreateIndex
CREATE INDEX "messages_app_id_conversation_id_created_at_idx" ON "messages"("app_id", "conversation_id", "created_at");

-- CreateIndex
CREATE INDEX "messages_app_id_sender_id_created_at_idx" ON "messages"("app_id", "sender_id", "created_at");

COMMIT;
