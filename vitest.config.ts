import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // Creates + migrates the PostgreSQL template database the store tests clone (test/helpers/db.ts).
    globalSetup: ["test/global-setup.ts"],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // Test files open real servers, SQLite files and PostgreSQL databases of their own;
    // two workers match the two cores we have.
    pool: "forks",
    maxWorkers: 2,
  },
});
