// Runtime equivalent of `prisma migrate deploy`, fully offline: applies pending migrations from
// prisma/migrations/<provider>/ through the wasm schema engine, recording them in
// _prisma_migrations (same checksums as the CLI, so a real `prisma migrate deploy` stays compatible).
import { fileURLToPath } from "node:url";
import { PrismaBetterSqlite3 } from "@prisma/adapter-better-sqlite3";
import { PrismaPg } from "@prisma/adapter-pg";
import { MirrorError } from "../errors.ts";
import type { DatabaseConfig, DatabaseProvider } from "./database-url.ts";
import { redactDatabaseUrl } from "./database-url.ts";
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
  let out = message.split(db.url).join(redactDatabaseUrl(db.url));
  if (db.password) out = out.split(db.password).join("***");
  return out;
}

/**
 * Applies every pending migration and returns the names applied ([] when up to date).
 * Throws MigrationError on any failure (never logs and continues).
 */
export async function migrateDatabase(
  db: DatabaseConfig,
  options: { migrationsDir?: string } = {},
): Promise<string[]> {
  const dir = options.migrationsDir ?? migrationsDir(db.provider);
  const factory =
    db.provider === "sqlite"
      ? new PrismaBetterSqlite3({ url: db.url })
      : new PrismaPg({ connectionString: db.url, max: 1 });
  try {
    const { engine, close } = await openSchemaEngine(factory);
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
