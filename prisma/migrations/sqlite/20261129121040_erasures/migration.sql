BEGIN;

-- CreateTable
CREATE TABLE "erasures" (
    "app_id" TEXT NOT NULL,
    "user_id" TEXT NOT NULL,
    "erased_at" DATETIME NOT NULL,

    PRIMARY KEY ("app_id", "user_id")
);

COMMIT;
