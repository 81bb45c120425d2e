BEGIN;

-- CreateTable
CREATE TABLE "file_blobs" (
    "sha256" TEXT NOT NULL,
    "size" BIGINT NOT NULL,
    "content_type" TEXT,
    "stored_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "file_blobs_pkey" PRIMARY KEY ("sha256")
);

-- CreateTable
CREATE TABLE "message_files" (
    "app_id" TEXT NOT NULL,
    "message_id" TEXT NOT NULL,
    "block_index" INTEGER NOT NULL,
    "conversation_id" TEXT NOT NULL,
    "url" TEXT NOT NULL,
    "declared_size" BIGINT,
    "filename" TEXT,
    "status" TEXT NOT NULL,
    "attempts" INTEGER NOT NULL DEFAULT 0,
    "last_error" TEXT,
    "next_attempt_at" TIMESTAMPTZ(3) NOT NULL,
    "missing_since" TIMESTAMPTZ(3),
    "sha256" TEXT,
    "first_seen_at" TIMESTAMPTZ(3) NOT NULL,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "message_files_pkey" PRIMARY KEY ("app_id","message_id","block_index")
);

-- CreateIndex
CREATE INDEX "message_files_app_id_status_next_attempt_at_idx" ON "message_files"("app_id", "status", "next_attempt_at");

-- CreateIndex
CREATE INDEX "message_files_app_id_url_idx" ON "message_files"("app_id", "url");

-- CreateIndex
CREATE INDEX "message_files_sha256_idx" ON "message_files"("sha256");

COMMIT;
