BEGIN;

-- AlterTable
ALTER TABLE "messages" ADD COLUMN     "missing_since" TIMESTAMPTZ(3),
ADD COLUMN     "pending_delete_run" INTEGER;

COMMIT;
