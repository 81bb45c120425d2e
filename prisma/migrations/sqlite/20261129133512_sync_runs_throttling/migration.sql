BEGIN;

-- Plain ADD COLUMN, not Prisma's table rebuild: the analytics view v_sync_runs reads sync_runs,
-- and SQLite refuses to drop a table a view depends on.
-- AlterTable
ALTER TABLE "sync_runs" ADD COLUMN "rate_limited" INTEGER NOT NULL DEFAULT 0;
ALTER TABLE "sync_runs" ADD COLUMN "paused_ms" BIGINT NOT NULL DEFAULT 0;
ALTER TABLE "sync_runs" ADD COLUMN "end_rate" REAL;

COMMIT;
