BEGIN;

-- CreateIndex
CREATE INDEX "sync_runs_app_id_kind_id_idx" ON "sync_runs"("app_id", "kind", "id");

COMMIT;
