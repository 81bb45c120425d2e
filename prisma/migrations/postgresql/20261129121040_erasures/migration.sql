BEGIN;

-- CreateTable
CREATE TABLE "erasures" (
    "app_id" TEXT NOT NULL,
    "user_id" TEXT NOT NULL,
    "erased_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "erasures_pkey" PRIMARY KEY ("app_id","user_id")
);

COMMIT;
