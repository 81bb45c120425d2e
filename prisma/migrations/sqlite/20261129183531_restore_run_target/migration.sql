BEGIN;

-- AlterTable
ALTER TABLE "sync_runs" ADD COLUMN "target_app_id" TEXT;

COMMIT;
