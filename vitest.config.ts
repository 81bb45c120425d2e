import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // Test files open real servers, SQLite files and PostgreSQL databases of their own;
    // two workers match the two cores we have.
    pool: "forks",
    maxWorkers: 2,
  },
});
