BEGIN;

-- CreateTable
CREATE TABLE "mirror_totals" (
    "app_id" TEXT NOT NULL PRIMARY KEY,
    "conversations_live" INTEGER NOT NULL,
    "conversations_deleted" INTEGER NOT NULL,
    "messages_live" INTEGER NOT NULL,
    "messages_deleted" INTEGER NOT NULL,
    "updated_at" DATETIME NOT NULL
);

COMMIT;
