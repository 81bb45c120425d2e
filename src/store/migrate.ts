// Runtime equivalent of `prisma migrate deploy`, fully offline: applies pending migrations from
// prisma/migrations/<provider>/ through the wasm schema engine, recording them in
// _prisma_migrations (same checksums as the CLI, so a real `prisma migrate deploy` stays compatible).
import { existsSync, mkdirSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { PrismaBetterSqlite3 } from "@prisma/adapter-better-sqlite3";
import { PrismaPg } from "@prisma/adapter-pg";
import Database from "better-sqlite3";
import pg from "pg";
import { MirrorError } from "../errors.ts";
import type { DatabaseConfig, DatabaseProvider } from "./database-url.ts";
import { maskDatabaseText, redactDatabaseUrl } from "./database-url.ts";
import { listMigrations, noFilter, openSchemaEngine } from "./schema-engine.ts";

/** prisma/migrations/ of this package; the same relative path works from src/store/ and dist/store/. */
export const MIGRATIONS_ROOT = fileURLToPath(new URL("../../prisma/migrations/", import.meta.url));

export function migrationsDir(provider: DatabaseProvider): string {
  return `${MIGRATIONS_ROOT}${provider}`;
}

/** Thrown when a migration cannot be applied; the database is left for an operator to inspect. */
export class MigrationError extends MirrorError {
  constructor(message: string, cause: unknown) {
    super("DB_MIGRATION_FAILED", message, { cause });
  }
}

function scrub(message: string, db: DatabaseConfig): string {
  return maskDatabaseText(message, db.url);
}

/**
 * Creates the directory of a SQLite database file (nothing for PostgreSQL). Called where a file is
 * opened for writing (migrating, opening the store), never while a URL is only parsed. Lives here,
 * not in ./open.ts, so `migrate` does not load the generated clients.
 */
export function ensureDatabaseDirectory(db: DatabaseConfig): void {
  if (db.provider === "sqlite" && db.filePath) mkdirSync(path.dirname(db.filePath), { recursive: true });
}

/**
 * Applies every pending migration and returns the names applied ([] when up to date).
 * Throws MigrationError on any failure (never logs and continues).
 */
export async function migrateDatabase(
  db: DatabaseConfig,
  options: { migrationsDir?: string; schemaEngineDebug?: boolean } = {},
): Promise<string[]> {
  const dir = options.migrationsDir ?? migrationsDir(db.provider);
  ensureDatabaseDirectory(db);
  // Every command starts with this call. When nothing is pending, answer from _prisma_migrations
  // without starting the schema engine: it needs exclusive access to a SQLite file (it resets the
  // journal mode), so it would wait on any other process that has the file open — a running sync,
  // `status`, an analyst's sqlite3 shell.
  const pending = await pendingMigrations(db, dir).catch(() => null);
  if (pending !== null && pending.length === 0) return [];
  const factory =
    db.provider === "sqlite"
      ? // Wait for a reader or writer in another process (a running sync, an analyst's query)
        // instead of failing at once on a busy file.
        new PrismaBetterSqlite3({ url: db.url, timeout: 30_000 })
      : new PrismaPg({ connectionString: db.url, max: 1 });
  try {
    const { engine, close } = await openSchemaEngine(factory, { debug: options.schemaEngineDebug === true });
    try {
      const migrationsList = await listMigrations(dir);
      if (migrationsList.migrationDirectories.length === 0) {
        throw new Error(`no migrations found in ${dir}`);
      }
      const { appliedMigrationNames } = await engine.applyMigrations({ migrationsList, filters: noFilter });
      return appliedMigrationNames;
    } finally {
      await close();
    }
  } catch (error) {
    const detail = error instanceof Error ? error.message : String(error);
    throw new MigrationError(
      `Migrating the ${db.provider} database ${redactDatabaseUrl(db.url)} failed: ${scrub(detail, db)}`,
      error,
    );
  }
}

/**
 * Names of migration folders not yet recorded as applied, or null when that cannot be told
 * cheaply (no _prisma_migrations table yet, a failed migration on record): the engine decides then.
 */
async function pendingMigrations(db: DatabaseConfig, dir: string): Promise<string[] | null> {
  const { migrationDirectories } = await listMigrations(dir);
  const sql = `SELECT migration_name, finished_at, rolled_back_at FROM _prisma_migrations`;
  let rows: { migration_name: string; finished_at: unknown; rolled_back_at: unknown }[];
  if (db.provider === "sqlite") {
    if (!db.filePath || !existsSync(db.filePath)) return null;
    const sqlite = new Database(db.filePath, { readonly: true, fileMustExist: true, timeout: 30_000 });
    try {
      rows = sqlite.prepare(sql).all() as typeof rows;
    } finally {
      sqlite.close();
    }
  } else {
    const client = new pg.Client({ connectionString: db.url });
    client.on("error", () => {});
    await client.connect();
    try {
      rows = (await client.query(sql)).rows;
    } finally {
      await client.end();
    }
  }
  if (rows.some((r) => r.finished_at === null && r.rolled_back_at === null)) return null;
  const applied = new Set(rows.filter((r) => r.finished_at !== null).map((r) => r.migration_name));
  return migrationDirectories.map((m) => m.path).filter((name) => !applied.has(name));
}
