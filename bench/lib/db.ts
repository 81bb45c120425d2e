// Scratch databases for the benchmarks (a temporary SQLite file, or a PostgreSQL database created
// and dropped through BENCH_DATABASE_URL), and the few statements the benchmarks run on a mirror
// between measured operations.
// PostgreSQL: BENCH_DATABASE_URL admin URL (default postgresql://postgres@127.0.0.1:5432/postgres).
import { randomUUID } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import pg from "pg";
import type { DatabaseProvider } from "../../src/store/database-url.ts";
import { sql } from "../../src/store/sql/shared.ts";
import { openStore, type Store } from "../../src/store/store.ts";
import { APP } from "./config.ts";

const ADMIN = process.env.BENCH_DATABASE_URL ?? "postgresql://postgres@127.0.0.1:5432/postgres";

export interface Db {
  provider: DatabaseProvider;
  url: string;
  drop(): Promise<void>;
}

async function admin(sql: string): Promise<void> {
  const c = new pg.Client({ connectionString: ADMIN });
  await c.connect();
  try {
    await c.query(sql);
  } finally {
    await c.end();
  }
}

/** An empty database (not migrated); `drop` removes it. */
export async function freshDb(provider: DatabaseProvider): Promise<Db> {
  if (provider === "sqlite") {
    const dir = mkdtempSync(path.join(os.tmpdir(), "talkjs-bench-"));
    return {
      provider,
      url: `file:${dir}/mirror.db`,
      drop: async () => rmSync(dir, { recursive: true, force: true }),
    };
  }
  const name = `talkjs_bench_${randomUUID().replace(/-/g, "").slice(0, 12)}`;
  await admin(`CREATE DATABASE "${name}"`);
  const u = new URL(ADMIN);
  u.pathname = `/${name}`;
  return { provider, url: u.toString(), drop: () => admin(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`) };
}

export async function withStore<T>(db: Db, fn: (store: Store) => Promise<T>): Promise<T> {
  const store = await openStore({ url: db.url });
  try {
    return await fn(store);
  } finally {
    await store.close();
  }
}

/** The first k conversation ids of the mirror, in the database's order. */
export async function firstConversationIds(db: Db, k: number): Promise<string[]> {
  const rows = await withStore(db, (s) =>
    s.queryRaw(sql`SELECT id FROM conversations WHERE app_id = ${APP} ORDER BY id LIMIT ${k}`),
  );
  return rows.map((r) => String(r.id));
}

/** Ids of the mirrored conversations that have messages, in binary order on both databases. */
export async function conversationIdsWithMessages(db: Db): Promise<string[]> {
  // Sorted here, not by ORDER BY: PostgreSQL's collation orders ids differently from SQLite's
  // binary order, and both databases must get the same conversations (their histories differ).
  const rows = await withStore(db, (s) =>
    s.queryRaw(sql`SELECT id FROM conversations WHERE app_id = ${APP} AND last_message_id IS NOT NULL`),
  );
  return rows.map((r) => String(r.id)).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

/**
 * Invalidates every stored content hash, so the next reconcile rewrites each row exactly as if
 * every conversation had been edited at TalkJS.
 */
export async function invalidateContentHashes(db: Db): Promise<void> {
  await withStore(db, (s) =>
    s.queryRaw(sql`UPDATE conversations SET content_hash = 'stale' WHERE app_id = ${APP}`),
  );
}

/** Forgets every mirrored message and the message pass's progress: the next pass is a backfill. */
export async function forgetMessages(db: Db): Promise<void> {
  await withStore(db, async (s) => {
    await s.queryRaw(sql`DELETE FROM message_sync_state WHERE app_id = ${APP}`);
    await s.queryRaw(sql`DELETE FROM messages WHERE app_id = ${APP}`);
  });
}
