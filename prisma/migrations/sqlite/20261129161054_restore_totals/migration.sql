BEGIN;

-- CreateTable
CREATE TABLE "restore_totals" (
    "app_id" TEXT NOT NULL PRIMARY KEY,
    "runs_succeeded" INTEGER NOT NULL,
    "runs_failed" INTEGER NOT NULL,
    "messages_restored" BIGINT NOT NULL,
    "files_restored" BIGINT NOT NULL,
    "updated_at" DATETIME NOT NULL
);

COMMIT;
