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
    "last_message_at" TIMESTAMPTZ(3),
    "last_message_id" TEXT,
    "last_message_sender_id" TEXT,
    "created_at" TIMESTAMPTZ(3) NOT NULL,
    "last_activity_at" TIMESTAMPTZ(3) NOT NULL,
    "participant_count" INTEGER NOT NULL,
    "raw" JSONB NOT NULL,
    "content_hash" TEXT NOT NULL,
    "first_seen_at" TIMESTAMPTZ(3) NOT NULL,
    "synced_at" TIMESTAMPTZ(3) NOT NULL,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,
    "deleted_at" TIMESTAMPTZ(3),
    "seen_run_id" INTEGER,

    CONSTRAINT "conversations_pkey" PRIMARY KEY ("app_id","id")
);

-- CreateTable
CREATE TABLE "conversation_participants" (
    "app_id" TEXT NOT NULL,
    "conversation_id" TEXT NOT NULL,
    "user_id" TEXT NOT NULL,
    "access" TEXT NOT NULL,
    "notify" BOOLEAN NOT NULL,

    CONSTRAINT "conversation_participants_pkey" PRIMARY KEY ("app_id","conversation_id","user_id")
);

-- CreateTable
CREATE TABLE "sync_state" (
    "app_id" TEXT NOT NULL,
    "stream" TEXT NOT NULL,
    "cursor" TEXT,
    "watermark" TIMESTAMPTZ(3),
    "last_success_at" TIMESTAMPTZ(3),
    "last_error" TEXT,
    "last_error_at" TIMESTAMPTZ(3),
    "updated_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "sync_state_pkey" PRIMARY KEY ("app_id","stream")
);

-- CreateTable
CREATE TABLE "sync_runs" (
    "id" SERIAL NOT NULL,
    "app_id" TEXT NOT NULL,
    "kind" TEXT NOT NULL,
    "started_at" TIMESTAMPTZ(3) NOT NULL,
    "finished_at" TIMESTAMPTZ(3),
    "status" TEXT NOT NULL,
    "pages" INTEGER NOT NULL DEFAULT 0,
    "fetched" INTEGER NOT NULL DEFAULT 0,
    "inserted" INTEGER NOT NULL DEFAULT 0,
    "updated" INTEGER NOT NULL DEFAULT 0,
    "unchanged" INTEGER NOT NULL DEFAULT 0,
    "marked_deleted" INTEGER NOT NULL DEFAULT 0,
    "error" TEXT,

    CONSTRAINT "sync_runs_pkey" PRIMARY KEY ("id")
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

-- AddForeignKey
ALTER TABLE "conversation_participants" ADD CONSTRAINT "conversation_participants_app_id_conversation_id_fkey" FOREIGN KEY ("app_id", "conversation_id") REFERENCES "conversations"("app_id", "id") ON DELETE CASCADE ON UPDATE CASCADE;

COMMIT;
