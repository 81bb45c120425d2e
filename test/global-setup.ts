// vitest globalSetup: creates and migrates ONE PostgreSQL template database per test run; each
// test file then clones it (CREATE DATABASE … TEMPLATE …), which is much faster than migrating.
// PostgreSQL unreachable: under CI=true this fails the run; locally PG variants are skipped loudly.
import pg from "pg";
import type { TestProject } from "vitest/node";
import { parseDatabaseUrl } from "../src/store/database-url.ts";
import { migrateDatabase } from "../src/store/migrate.ts";

export const DEFAULT_TEST_DATABASE_URL = "postgresql://postgres@127.0.0.1:5432/postgres";

declare module "vitest" {
  export interface ProvidedContext {
    /** Admin URL and template database name, or null when PostgreSQL is unavailable. */
    postgres: { adminUrl: string; template: string } | null;
  }
}

function withDatabase(url: string, name: string): string {
  const u = new URL(url);
  u.pathname = `/${name}`;
  return u.toString();
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const adminUrl = process.env.TEST_DATABASE_URL ?? DEFAULT_TEST_DATABASE_URL;
  const template = `talkjs_mirror_tpl_${process.pid}_${Date.now().toString(36)}`;
  const admin = new pg.Client({ connectionString: adminUrl, connectionTimeoutMillis: 5_000 });
  try {
    await admin.connect();
  } catch (error) {
    const message = `PostgreSQL is unreachable at TEST_DATABASE_URL (${adminUrl.replace(/:[^:@/]*@/, ":***@")}): ${String(error)}`;
    if (process.env.CI === "true") {
      throw new Error(`${message}\nCI=true requires PostgreSQL for the store tests.`);
    }
    console.warn(`\n⚠️  ${message}\n⚠️  Skipping the PostgreSQL variants of the store tests.\n`);
    project.provide("postgres", null);
    return async () => {};
  }
  try {
    await admin.query(`CREATE DATABASE "${template}"`);
  } finally {
    await admin.end();
  }
  await migrateDatabase(parseDatabaseUrl(withDatabase(adminUrl, template)));
  project.provide("postgres", { adminUrl, template });
  return async () => {
    const c = new pg.Client({ connectionString: adminUrl });
    await c.connect();
    try {
      await c.query(`DROP DATABASE IF EXISTS "${template}"`);
    } finally {
      await c.end();
    }
  };
}
