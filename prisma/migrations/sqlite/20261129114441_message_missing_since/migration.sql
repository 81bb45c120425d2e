BEGIN;

-- AlterTable
ALTER TABLE "messages" ADD COLUMN "missing_since" DATETIME;
ALTER TABLE "messages" ADD COLUMN "pending_delete_run" INTEGER;

COMMIT;
