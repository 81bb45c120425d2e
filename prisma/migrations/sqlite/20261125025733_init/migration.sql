BEGIN;

-- CreateTable
CREATE TABLE "conversations" (
    "app_id" TEXT NOT NULL,
    "id" TEXT NOT NULL,
    "subject" TEXT,
    "photo_url" TEXT,
    "topic_id" TEXT,
    "welcome_messages" JSONB,
    "custom" JSONB NOT NULL,
    "last_message" JSONB,
    "last_message_at" DATETIME,
    "last_message_id" TEXT,
    "last_message_sender_id" TEXT,
    "created_at" DATETIME NOT NULL,
    "last_activity_at" DATETIME NOT NULL,
    "participant_count" INTEGER NOT NULL,
    "raw" JSONB NOT NULL,
    "content_hash" TEXT NOT NULL,
    "first_seen_at" DATETIME NOT NULL,
    "synced_at" DATETIME NOT NULL,
    "updated_at" DATETIME NOT NULL,
    "deleted_at" DATETIME,
    "seen_run_id" INTEGER,

    PRIMARY KEY ("app_id", "id")
);

-- CreateTable
CREATE TABLE "conversation_participants" (
    "app_id" TEXT NOT NULL,
    "conversation_id" TEXT NOT NULL,
    "user_id" TEXT NOT NULL,
    "access" TEXT NOT NULL,
    "notify" BOOLEAN NOT NULL,

    PRIMARY KEY ("app_id", "conversation_id", "user_id"),
    CONSTRAINT "conversation_participants_app_id_conversation_id_fkey" FOREIGN KEY ("app_id", "conversation_id") REFERENCES "conversations" ("app_id", "id") ON DELETE CASCADE ON UPDATE CASCADE
);

-- CreateTable
CREATE TABLE "sync_state" (
    "app_id" TEXT NOT NULL,
    "stream" TEXT NOT NULL,
    "cursor" TEXT,
    "watermark" DATETIME,
    "last_success_at" DATETIME,
    "last_error" TEXT,
    "last_error_at" DATETIME,
    "updated_at" DATETIME NOT NULL,

    PRIMARY KEY ("app_id", "stream")
);

-- CreateTable
CREATE TABLE "sync_runs" (
    "id" INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    "app_id" TEXT NOT NULL,
    "kind" TEXT NOT NULL,
    "started_at" DATETIME NOT NULL,
    "finished_at" DATETIME,
    "status" TEXT NOT NULL,
    "pages" INTEGER NOT NULL DEFAULT 0,
    "fetched" INTEGER NOT NULL DEFAULT 0,
    "inserted" INTEGER NOT NULL DEFAULT 0,
    "updated" INTEGER NOT NULL DEFAULT 0,
    "unchanged" INTEGER NOT NULL DEFAULT 0,
    "marked_deleted" INTEGER NOT NULL DEFAULT 0,
    "error" TEXT
);

-- CreateIndex
CREATE INDEX "conversations_app_id_last_activity_at_idx" ON "conversations"("app_id", "last_activity_at");

-- CreateIndex
CREATE INDEX "conversations_app_id_created_at_idx" ON "conversations"("app_id", "created_at");

-- CreateIndex
CREATE INDEX "conversations_app_id_deleted_at_idx" ON "conversations"("app_id", "deleted_at");

-- CreateIndex
CREATE INDEX "conversation_participants_app_id_user_id_idx" ON "conversation_participants"("app_id", "user_id");

-- CreateIndex
CREATE INDEX "sync_runs_app_id_started_at_idx" ON "sync_runs"("app_id", "started_at");

COMMIT;
