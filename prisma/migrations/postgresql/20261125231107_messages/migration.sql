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
    "created_at" TIMESTAMPTZ(3) NOT NULL,
    "edited_at" TIMESTAMPTZ(3),
    "referenced_message_id" TEXT,
    "read_by" JSONB NOT NULL,
    "raw" JSONB NOT NULL,
    "content_hash" TEXT NOT NULL,
    "first_seen_at" TIMESTAMPTZ(3) NOT NULL,
    "synced_at" TIMESTAMPTZ(3) NOT NULL,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,
    "deleted_at" TIMESTAMPTZ(3),

    CONSTRAINT "messages_pkey" PRIMARY KEY ("app_id","id")
);

-- CreateTable
CREATE TABLE "message_sync_state" (
    "app_id" TEXT NOT NULL,
    "conversation_id" TEXT NOT NULL,
    "last_message_id" TEXT,
    "newest_message_at" TIMESTAMPTZ(3),
    "synced_at" TIMESTAMPTZ(3) NOT NULL,
    "deep_synced_at" TIMESTAMPTZ(3),

    CONSTRAINT "message_sync_state_pkey" PRIMARY KEY ("app_id","conversation_id")
);

-- CreateIndex
CREATE INDEX "messages_app_id_conversation_id_created_at_idx" ON "messages"("app_id", "conversation_id", "created_at");

-- CreateIndex
CREATE INDEX "messages_app_id_sender_id_created_at_idx" ON "messages"("app_id", "sender_id", "created_at");

COMMIT;
