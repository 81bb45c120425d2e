BEGIN;

-- CreateTable
CREATE TABLE "mirror_totals" (
    "app_id" TEXT NOT NULL,
    "conversations_live" INTEGER NOT NULL,
    "conversations_deleted" INTEGER NOT NULL,
    "messages_live" INTEGER NOT NULL,
    "messages_deleted" INTEGER NOT NULL,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "mirror_totals_pkey" PRIMARY KEY ("app_id")
);

COMMIT;
