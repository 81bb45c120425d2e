BEGIN;

-- CreateTable
CREATE TABLE "run_locks" (
    "app_id" TEXT NOT NULL PRIMARY KEY,
    "token" TEXT NOT NULL,
    "kind" TEXT NOT NULL,
    "pid" INTEGER NOT NULL,
    "host" TEXT NOT NULL,
    "acquired_at" DATETIME NOT NULL,
    "expires_at" DATETIME NOT NULL
);

COMMIT;
