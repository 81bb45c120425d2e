BEGIN;

-- CreateTable
CREATE TABLE "users" (
    "app_id" TEXT NOT NULL,
    "id" TEXT NOT NULL,
    "name" TEXT,
    "email" JSONB,
    "phone" JSONB,
    "role" TEXT,
    "locale" TEXT,
    "created_at" DATETIME,
    "custom" JSONB NOT NULL,
    "raw" JSONB NOT NULL,
    "content_hash" TEXT NOT NULL,
    "first_seen_at" DATETIME NOT NULL,
    "synced_at" DATETIME NOT NULL,
    "updated_at" DATETIME NOT NULL,
    "deleted_at" DATETIME,
    "seen_run_id" INTEGER,

    PRIMARY KEY ("app_id", "id")
);

-- CreateIndex
CREATE INDEX "users_app_id_deleted_at_idx" ON "users"("app_id", "deleted_at");

COMMIT;
