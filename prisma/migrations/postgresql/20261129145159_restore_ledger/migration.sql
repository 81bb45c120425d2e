BEGIN;

-- CreateTable
CREATE TABLE "restore_ledger" (
    "target_app_id" TEXT NOT NULL,
    "source_app_id" TEXT NOT NULL,
    "kind" TEXT NOT NULL,
    "source_id" TEXT NOT NULL,
    "conversation_id" TEXT,
    "target_id" TEXT,
    "batch" INTEGER,
    "status" TEXT NOT NULL,
    "fingerprint" TEXT,
    "created_at" TIMESTAMPTZ(3) NOT NULL,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "restore_ledger_pkey" PRIMARY KEY ("target_app_id","source_app_id","kind","source_id")
);

-- CreateIndex
CREATE INDEX "restore_ledger_target_app_id_source_app_id_conversation_id_idx" ON "restore_ledger"("target_app_id", "source_app_id", "conversation_id");

COMMIT;
