// Opening the mirror for a command that only reads it (status, report, export). Such a command
// never creates or migrates anything: pointed at a mistyped path or the wrong PostgreSQL database
// it must fail — naming the URL and the fix — instead of creating an empty mirror and reporting
// it with exit 0. And it must work where nothing can be written: a restored backup, a read-only
// mount, a WAL-mode file whose -shm/-wal cannot be created beside it.
import { type Stats, statSync } from "node:fs";
import Database from "better-sqlite3";
import pg from "pg";
import { MirrorError } from "../errors.ts";
import { type DatabaseConfig, redactDatabaseUrl } from "./database-url.ts";
import { databaseError, recognizeDatabaseError } from "./db-errors.ts";
import { migrationsDir } from "./migrate.ts";
import { immutableSqliteUrl } from "./open.ts";
import { listMigrations } from "./schema-engine.ts";
import { openStore, type Store } from "./store.ts";

export interface ReadingOptions {
  /** Told once when the view may be stale (a WAL-mode file read as immutable). */
  onNote?: (line: string) => void;
  /** prisma/migrations/<provider> by default. */
  migrationsDir?: string;
}

interface MigrationRow {
  migration_name: string;
  finished_at: unknown;
  rolled_back_at: unknown;
}

const TABLE = "_prisma_migrations";
const QUERY = `SELECT migration_name, finished_at, rolled_back_at FROM ${TABLE}`;

/**
 * The store over an existing, fully migrated database, opened read-only for SQLite. Throws a
 * MirrorError (one line, the URL masked, the fix) when the file is missing, the database has no
 * mirror tables or a migration is pending.
 */
export async function openStoreForReading(db: DatabaseConfig, options: ReadingOptions = {}): Promise<Store> {
  const shown = redactDatabaseUrl(db.url);
  let immutable = false;
  let rows: MigrationRow[] | null;
  if (db.provider === "sqlite") {
    const file = db.filePath ?? db.url.replace(/^file:/, "");
    let stat: Stats;
    try {
      stat = statSync(file);
    } catch (error) {
      if ((error as { code?: unknown }).code !== "ENOENT") {
        throw new MirrorError(
          "DB_CANNOT_OPEN",
          `cannot reach ${shown} (${(error as { code?: unknown }).code}): check the permissions of its directories`,
        );
      }
      throw new MirrorError(
        "DB_MISSING",
        `no mirror database at ${shown}: run \`talkjs-mirror backfill\` to create one (or \`talkjs-mirror migrate\` for an empty one), or fix DATABASE_URL`,
      );
    }
    if (stat.isDirectory()) {
      throw new MirrorError("DB_CANNOT_OPEN", `${shown} is a directory, not a SQLite file; fix DATABASE_URL`);
    }
    const read = readSqliteMigrations(file, db.url);
    rows = read.rows;
    immutable = read.immutable;
  } else {
    rows = await readPgMigrations(db);
  }
  if (rows === null) {
    throw new MirrorError(
      "DB_NOT_MIGRATED",
      `${shown} holds no mirror (no talkjs-mirror tables): check DATABASE_URL, or run \`talkjs-mirror migrate\` (or \`backfill\`) to create the mirror there`,
    );
  }
  const { migrationDirectories } = await listMigrations(options.migrationsDir ?? migrationsDir(db.provider));
  const applied = new Set(rows.filter((r) => r.finished_at !== null).map((r) => r.migration_name));
  const pending = migrationDirectories.map((m) => m.path).filter((name) => !applied.has(name));
  if (pending.length > 0 || rows.some((r) => r.finished_at === null && r.rolled_back_at === null)) {
    throw new MirrorError(
      "DB_MIGRATION_PENDING",
      `${shown} needs ${pending.length || "a failed"} migration(s) this version expects (${pending.join(", ") || "see _prisma_migrations"}); run \`talkjs-mirror migrate\` first`,
    );
  }
  if (immutable) {
    options.onNote?.(
      `${shown} is in WAL mode where its -shm/-wal files cannot be created (a read-only directory or mount): reading it as immutable, so changes not yet checkpointed into the file are not shown and the view may be stale`,
    );
  }
  return openStore(db, { readOnly: true, immutable });
}

/**
 * _prisma_migrations of a SQLite file opened read-only, or null when the table is absent. A
 * WAL-mode file in a directory where SQLite cannot create -shm/-wal fails to open read-only:
 * then it is read as immutable (`immutable: true`).
 */
function readSqliteMigrations(
  file: string,
  url: string,
): { rows: MigrationRow[] | null; immutable: boolean } {
  const read = (immutable: boolean): MigrationRow[] | null => {
    const sqlite = new Database(immutable ? immutableSqliteUrl(file).slice("file:".length) : file, {
      readonly: true,
      fileMustExist: true,
      timeout: 5_000,
    });
    try {
      const exists = sqlite
        .prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?")
        .get(TABLE);
      return exists ? (sqlite.prepare(QUERY).all() as MigrationRow[]) : null;
    } finally {
      sqlite.close();
    }
  };
  try {
    return { rows: read(false), immutable: false };
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    const cannotShare =
      typeof code === "string" && /^SQLITE_(READONLY|CANTOPEN)/.test(code) && !/NOTADB/.test(code);
    if (!cannotShare) throw databaseError(error, url);
    try {
      return { rows: read(true), immutable: true };
    } catch {
      throw databaseError(error, url);
    }
  }
}

/** _prisma_migrations of a PostgreSQL database, or null when the table is absent. */
async function readPgMigrations(db: DatabaseConfig): Promise<MigrationRow[] | null> {
  const client = new pg.Client({ connectionString: db.url });
  client.on("error", () => {});
  try {
    await client.connect();
    const found = await client.query("SELECT to_regclass($1) AS t", [TABLE]);
    if ((found.rows[0] as { t: unknown } | undefined)?.t == null) return null;
    return (await client.query(QUERY)).rows as MigrationRow[];
  } catch (error) {
    throw recognizeDatabaseError(error, db.url) ?? databaseError(error, db.url);
  } finally {
    await client.end().catch(() => {});
  }
}
