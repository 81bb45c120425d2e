// Opening the database: the driver adapter for the provider, SQLite's pragmas, a connection check,
// and the SQLite file's directory (created here, when a file is opened for writing, never while a
// URL is merely parsed). What the rest of src/store/ receives is a `Db`: the client plus the
// provider, which the few provider-specific SQL fragments branch on.
import { pathToFileURL } from "node:url";
import { PrismaBetterSqlite3 } from "@prisma/adapter-better-sqlite3";
import { PrismaPg } from "@prisma/adapter-pg";
import type { Logger } from "pino";
import { MirrorError } from "../errors.ts";
import type { Prisma } from "../generated/prisma/client.ts";
import { PrismaClient as SqliteClient } from "../generated/prisma/client.ts";
import { PrismaClient as PgClient } from "../generated/prisma-pg/client.ts";
import type { DatabaseConfig, DatabaseProvider } from "./database-url.ts";
import { maskDatabaseText, parseDatabaseUrl, redactDatabaseUrl } from "./database-url.ts";
import { databaseError } from "./db-errors.ts";
import { ensureDatabaseDirectory } from "./migrate.ts";

/** Both generated clients expose the same model API; the SQLite client's types stand in for both. */
export type Client = SqliteClient;
export type Tx = Prisma.TransactionClient;

/** An open database, as every part of the store sees it. */
export interface Db {
  readonly provider: DatabaseProvider;
  /** PostgreSQL (true) or SQLite (false): what provider-specific SQL fragments branch on. */
  readonly pg: boolean;
  readonly client: Client;
  /** The connection URL (the PostgreSQL run lock opens its own session with it). */
  readonly url: string;
}

export interface OpenStoreConfig {
  url: string;
  poolSize?: number;
  logger?: Logger;
}

/**
 * How a reading command opens SQLite: `readOnly` opens the file read-only (it must exist, nothing
 * is created or changed); `immutable` also tells SQLite the file cannot change, so it needs no
 * -shm/-wal beside it (a WAL-mode file on a read-only mount) at the price of ignoring a WAL not yet
 * checkpointed.
 */
export interface OpenMode {
  readOnly?: boolean;
  immutable?: boolean;
}

/**
 * The SQLite URI of an immutable read-only open. The adapter strips one leading `file:`, so
 * better-sqlite3 receives `file:///abs/path?immutable=1` — a URI, which it honours when the
 * process runs with SQLITE_USE_URI=1 (the CLI sets it before SQLite loads).
 */
export function immutableSqliteUrl(filePath: string): string {
  return `file:${pathToFileURL(filePath).href}?immutable=1`;
}

export async function openDatabase(
  config: OpenStoreConfig | DatabaseConfig,
  mode: OpenMode = {},
): Promise<Db> {
  const db: DatabaseConfig =
    "provider" in config ? config : parseDatabaseUrl(config.url, { poolSize: config.poolSize ?? 5 });
  const logger = "logger" in config ? config.logger : undefined;
  let client: Client;
  if (db.provider === "sqlite" && mode.readOnly) {
    const url = mode.immutable && db.filePath ? immutableSqliteUrl(db.filePath) : db.url;
    client = new SqliteClient({
      adapter: new PrismaBetterSqlite3({ url, readonly: true, fileMustExist: true, timeout: 5_000 }),
    });
    try {
      await client.$queryRaw`SELECT 1`;
    } catch (error) {
      await client.$disconnect();
      throw databaseError(error, db.url);
    }
  } else if (db.provider === "sqlite") {
    ensureDatabaseDirectory(db);
    // better-sqlite3 holds one connection: a single writer. `timeout` is its busy timeout (ms).
    client = new SqliteClient({ adapter: new PrismaBetterSqlite3({ url: db.url, timeout: 5_000 }) });
    try {
      await client.$queryRaw`PRAGMA journal_mode = WAL`;
      await client.$executeRaw`PRAGMA synchronous = NORMAL`;
      await client.$executeRaw`PRAGMA foreign_keys = ON`;
    } catch (error) {
      await client.$disconnect();
      throw new MirrorError(
        "DB_OPEN_FAILED",
        `Cannot open SQLite database ${db.filePath ?? db.url}: ${String(error)}`,
        { cause: error },
      );
    }
  } else {
    // The PG client's model types are identical in shape to the SQLite one's (same schema,
    // different provider); TypeScript cannot see that, hence the cast.
    client = new PgClient({
      adapter: new PrismaPg({ connectionString: db.url, max: db.poolSize }),
    }) as unknown as Client;
    try {
      await client.$queryRaw`SELECT 1`;
    } catch (error) {
      await client.$disconnect();
      const detail = maskDatabaseText(String(error), db.url);
      throw new MirrorError(
        "DB_OPEN_FAILED",
        `Cannot connect to PostgreSQL ${redactDatabaseUrl(db.url)}: ${detail}`,
        { cause: error },
      );
    }
  }
  logger?.debug({ provider: db.provider, url: redactDatabaseUrl(db.url) }, "store opened");
  return { provider: db.provider, pg: db.provider === "postgresql", client, url: db.url };
}
