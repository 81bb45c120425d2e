import path from "node:path";
import { ConfigError } from "../errors.ts";

export type DatabaseProvider = "sqlite" | "postgresql";

export interface DatabaseConfig {
  provider: DatabaseProvider;
  /** `file:/absolute/path.db` for SQLite; the connection string as given for PostgreSQL. */
  url: string;
  /** SQLite only: absolute path of the database file. */
  filePath?: string;
  /** PostgreSQL only: the password from the URL, so callers can scrub it from any output. */
  password?: string;
  /** PostgreSQL connection pool size (SQLite always has one writer connection). */
  poolSize: number;
}

const ACCEPTED =
  "expected `file:<path>` for SQLite (e.g. file:./talkjs-mirror.db) or " +
  "`postgresql://user:password@host:5432/dbname` (also postgres://) for PostgreSQL";

/**
 * DATABASE_URL → provider + connection settings. Only parses: `file:` paths are resolved against the
 * working directory, nothing is created (the directory appears when the store or a migration opens
 * the file for writing, see ./open.ts). Errors never echo the URL (it may hold a password).
 */
export function parseDatabaseUrl(
  url: string,
  options: { poolSize?: number; cwd?: string } = {},
): DatabaseConfig {
  const poolSize = options.poolSize ?? 5;
  const trimmed = url.trim();
  if (trimmed === "") throw new ConfigError("DATABASE_URL", `is empty; ${ACCEPTED}.`);
  if (trimmed.startsWith("file:")) {
    let rest = trimmed.slice("file:".length);
    if (rest.startsWith("//")) rest = rest.slice(2); // file:///abs/path
    const query = rest.indexOf("?");
    if (query >= 0) rest = rest.slice(0, query);
    if (rest === "") throw new ConfigError("DATABASE_URL", `has no file path; ${ACCEPTED}.`);
    const filePath = path.resolve(options.cwd ?? process.cwd(), decodeURIComponent(rest));
    return { provider: "sqlite", url: `file:${filePath}`, filePath, poolSize: 1 };
  }
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(trimmed)?.[1]?.toLowerCase();
  if (scheme === "postgres" || scheme === "postgresql") {
    let parsed: URL;
    try {
      parsed = new URL(trimmed);
    } catch {
      throw new ConfigError("DATABASE_URL", `is not a valid PostgreSQL URL; ${ACCEPTED}.`);
    }
    const password = parsed.password ? decodeURIComponent(parsed.password) : undefined;
    return { provider: "postgresql", url: trimmed, ...(password ? { password } : {}), poolSize };
  }
  const shown = scheme ? `scheme "${scheme}:" is not supported` : "is not a URL";
  throw new ConfigError("DATABASE_URL", `${shown}; ${ACCEPTED}.`);
}

/** The URL with any password replaced by `***`, safe for logs and error messages. */
export function redactDatabaseUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) {
      parsed.password = "***";
      return parsed.toString();
    }
    return url;
  } catch {
    // Not parseable: blank out anything that looks like user:password@.
    return url.replace(/\/\/([^:/@]*):[^@]*@/, "//$1:***@");
  }
}
