BEGIN;

-- AlterTable
ALTER TABLE "work_queue" ADD COLUMN "waiting_since" DATETIME;

COMMIT;
