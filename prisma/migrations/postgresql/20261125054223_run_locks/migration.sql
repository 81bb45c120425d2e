BEGIN;

-- CreateTable
CREATE TABLE "run_locks" (
    "app_id" TEXT NOT NULL,
    "token" TEXT NOT NULL,
    "kind" TEXT NOT NULL,
    "pid" INTEGER NOT NULL,
    "host" TEXT NOT NULL,
    "acquired_at" TIMESTAMPTZ(3) NOT NULL,
    "expires_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "run_locks_pkey" PRIMARY KEY ("app_id")
);

COMMIT;
