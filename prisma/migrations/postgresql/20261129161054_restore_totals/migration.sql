BEGIN;

-- CreateTable
CREATE TABLE "restore_totals" (
    "app_id" TEXT NOT NULL,
    "runs_succeeded" INTEGER NOT NULL,
    "runs_failed" INTEGER NOT NULL,
    "messages_restored" BIGINT NOT NULL,
    "files_restored" BIGINT NOT NULL,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "restore_totals_pkey" PRIMARY KEY ("app_id")
);

COMMIT;
