// A fresh, migrated database per test file, for either provider.
import { randomUUID } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import pg from "pg";
import { afterAll, beforeAll, inject } from "vitest";
import { Prisma } from "../../src/generated/prisma/client.ts";
import type { DatabaseProvider } from "../../src/store/database-url.ts";
import { parseDatabaseUrl } from "../../src/store/database-url.ts";
import { migrateDatabase } from "../../src/store/migrate.ts";
import type { Sql } from "../../src/store/sql/shared.ts";
import { openStore, type Store } from "../../src/store/store.ts";

export const PROVIDERS: readonly DatabaseProvider[] = ["sqlite", "postgresql"];

/**
 * SQL text written out in full (a query from the docs, a catalog lookup) as a statement for
 * Store.queryRaw. With `bind`, every occurrence of a quoted placeholder such as 'my_app' becomes
 * a parameter holding `bind.value`.
 */
export function sqlText(text: string, bind?: { placeholder: string; value: string }): Sql {
  const strings = bind ? text.split(bind.placeholder) : [text];
  return new Prisma.Sql(
    strings,
    strings.slice(1).map(() => bind?.value),
  );
}

export interface TestDatabase {
  provider: DatabaseProvider;
  url: string;
  drop(): Promise<void>;
}

/** Whether the PostgreSQL variants can run (global setup found a server). */
export function postgresAvailable(): boolean {
  return inject("postgres") !== null;
}

function withDatabase(url: string, name: string): string {
  const u = new URL(url);
  u.pathname = `/${name}`;
  return u.toString();
}

async function admin<T>(adminUrl: string, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = new pg.Client({ connectionString: adminUrl });
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

/**
 * An EMPTY database (no tables): SQLite → a new temp file; PostgreSQL → CREATE DATABASE.
 * For migration tests.
 */
export async function emptyDatabase(provider: DatabaseProvider): Promise<TestDatabase> {
  if (provider === "sqlite") {
    const dir = mkdtempSync(path.join(os.tmpdir(), "talkjs-mirror-test-"));
    return {
      provider,
      url: `file:${path.join(dir, "mirror.db")}`,
      drop: async () => rmSync(dir, { recursive: true, force: true }),
    };
  }
  const pgInfo = inject("postgres");
  if (!pgInfo) throw new Error("PostgreSQL is not available (see the global setup warning)");
  const name = `talkjs_mirror_test_${randomUUID().replace(/-/g, "").slice(0, 16)}`;
  await admin(pgInfo.adminUrl, (c) => c.query(`CREATE DATABASE "${name}"`));
  return {
    provider,
    url: withDatabase(pgInfo.adminUrl, name),
    drop: () =>
      admin(pgInfo.adminUrl, (c) => c.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`)).then(() => {}),
  };
}

/** A migrated database: SQLite → temp file + migrations; PostgreSQL → a clone of the migrated template. */
export async function freshDatabase(provider: DatabaseProvider): Promise<TestDatabase> {
  if (provider === "sqlite") {
    const db = await emptyDatabase("sqlite");
    await migrateDatabase(parseDatabaseUrl(db.url));
    return db;
  }
  const pgInfo = inject("postgres");
  if (!pgInfo) throw new Error("PostgreSQL is not available (see the global setup warning)");
  const name = `talkjs_mirror_test_${randomUUID().replace(/-/g, "").slice(0, 16)}`;
  // Cloning fails while another session is connected to the template; that only happens for an
  // instant when two workers clone at once, so retry a few times.
  for (let attempt = 0; ; attempt++) {
    try {
      await admin(pgInfo.adminUrl, (c) => c.query(`CREATE DATABASE "${name}" TEMPLATE "${pgInfo.template}"`));
      break;
    } catch (error) {
      if (attempt >= 20 || !/being accessed by other users/.test(String(error))) throw error;
      await new Promise((r) => setTimeout(r, 100 + Math.random() * 200));
    }
  }
  return {
    provider,
    url: withDatabase(pgInfo.adminUrl, name),
    drop: () =>
      admin(pgInfo.adminUrl, (c) => c.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`)).then(() => {}),
  };
}

export interface StoreFixture {
  /** True when this provider's tests must be skipped (PostgreSQL unreachable outside CI). */
  readonly skip: boolean;
  readonly db: TestDatabase;
  readonly store: Store;
}

/**
 * For a describe block: a fresh migrated database and a store on it, opened before the block's
 * tests and closed (and the database dropped) after them.
 */
export function useStore(provider: DatabaseProvider, options: { poolSize?: number } = {}): StoreFixture {
  const skip = provider === "postgresql" && !postgresAvailable();
  let db: TestDatabase | undefined;
  let store: Store | undefined;
  beforeAll(async () => {
    if (skip) return;
    db = await freshDatabase(provider);
    store = await openStore({
      url: db.url,
      ...(options.poolSize !== undefined ? { poolSize: options.poolSize } : {}),
    });
  });
  afterAll(async () => {
    await store?.close();
    await db?.drop();
  });
  return {
    skip,
    get db() {
      if (!db) throw new Error("the database is opened in beforeAll");
      return db;
    },
    get store() {
      if (!store) throw new Error("the store is opened in beforeAll");
      return store;
    },
  };
}
