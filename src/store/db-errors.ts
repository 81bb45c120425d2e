// What a database failure means, in one line with a code. Prisma's errors span many lines (the
// invocation, a code excerpt), the schema engine's carry Rust backtraces, the drivers name SQLite
// result codes or PostgreSQL SQLSTATEs: none of that is for an operator's terminal, a
// /readyz body or sync_runs.error. `databaseError()` maps them to a DatabaseError whose message
// says what happened and what to do; the raw text stays on `detail` for debug logs.
import { MirrorError } from "../errors.ts";
import { maskDatabaseText } from "./database-url.ts";

export type DatabaseErrorCode =
  | "DB_READONLY"
  | "DB_BUSY"
  | "DB_NOT_SQLITE"
  | "DB_CORRUPT"
  | "DB_CANNOT_OPEN"
  | "DB_IO_ERROR"
  | "DB_DISK_FULL"
  | "DB_CONNECTION_LOST"
  | "DB_UNREACHABLE"
  | "DB_AUTH_FAILED"
  | "DB_NOT_FOUND"
  | "DB_NOT_MIGRATED"
  | "DB_ERROR";

/** A database failure as an operator reads it: a code, one actionable line, the raw detail apart. */
export class DatabaseError extends MirrorError {
  declare readonly code: DatabaseErrorCode;
  /** The driver's or engine's own text (masked), for debug logs only. */
  readonly detail: string;

  constructor(code: DatabaseErrorCode, message: string, detail: string, cause?: unknown) {
    super(code, message, { cause });
    this.detail = detail;
  }
}

interface Rule {
  code: DatabaseErrorCode;
  /** Matched against the error's flattened text: messages, codes and driver metadata. */
  test: RegExp;
  message: string;
}

// Order matters: the first rule that matches wins (a lost connection is often reported with a
// generic "Connection closed" next to the SQLSTATE that says why).
const RULES: Rule[] = [
  {
    code: "DB_READONLY",
    test: /SQLITE_READONLY|readonly database|read-only (?:database|file|transaction)|\b25006\b/i,
    message:
      "the database is read-only (the file, its directory or the mount is not writable, or the server is a read replica); give the process write access or point DATABASE_URL at a writable database",
  },
  {
    code: "DB_BUSY",
    test: /SQLITE_BUSY|SQLITE_LOCKED|database is locked|database table is locked|\b55P03\b|\b40P01\b|deadlock detected|lock timeout/i,
    message:
      "the database stayed locked by another connection past the busy timeout (a long write, or an open transaction in another tool); let it finish and run again",
  },
  {
    code: "DB_NOT_SQLITE",
    test: /SQLITE_NOTADB|file is not a database|not a database/i,
    message: "the file is not a SQLite database; check that DATABASE_URL names the mirror's .db file",
  },
  {
    code: "DB_CORRUPT",
    test: /SQLITE_CORRUPT|database disk image is malformed/i,
    message: "the SQLite file is corrupt; restore it from a backup or remove it and run backfill",
  },
  {
    code: "DB_DISK_FULL",
    test: /SQLITE_FULL|database or disk is full|\b53100\b|No space left/i,
    message: "the disk holding the database is full; free space and run again",
  },
  {
    code: "DB_CANNOT_OPEN",
    test: /SQLITE_CANTOPEN|unable to open database file|Is a directory|EISDIR/i,
    message:
      "the database file cannot be opened (a missing or unwritable directory, or a directory in its place); check DATABASE_URL",
  },
  {
    code: "DB_IO_ERROR",
    test: /SQLITE_IOERR|disk I\/O error/i,
    message:
      "the database file could not be read or written (disk I/O error: a read-only or network mount, or a failing disk)",
  },
  {
    code: "DB_AUTH_FAILED",
    test: /\b28P01\b|\b28000\b|password authentication failed|authentication failed|no pg_hba\.conf entry/i,
    message: "PostgreSQL refused the credentials; check the user and password in DATABASE_URL",
  },
  {
    code: "DB_NOT_FOUND",
    test: /\b3D000\b|database "[^"]*" does not exist|Database [`'"][^`'"]*[`'"] does not exist/i,
    message: "the PostgreSQL database does not exist; create it or fix the name in DATABASE_URL",
  },
  {
    code: "DB_NOT_MIGRATED",
    test: /\b42P01\b|no such table|relation "[^"]*" does not exist|table `[^`]*` does not exist/i,
    message: "the database has no mirror tables; run `talkjs-mirror migrate` (or `backfill`) first",
  },
  {
    code: "DB_UNREACHABLE",
    test: /ECONNREFUSED|ENOTFOUND|EAI_AGAIN|EHOSTUNREACH|ETIMEDOUT|Can't reach database server|connect timeout|timeout expired/i,
    message: "PostgreSQL is not reachable; check the host and port in DATABASE_URL and that the server is up",
  },
  {
    code: "DB_CONNECTION_LOST",
    test: /\b57P01\b|\b57P02\b|\b57P03\b|\b08006\b|\b08003\b|\b08001\b|terminating connection|Connection terminated|connection (?:is )?closed|ConnectionClosed|server closed the connection|ECONNRESET|EPIPE/i,
    message:
      "the database connection was lost (server restart, failover, or a terminated session); run again once it is back",
  },
];

/** Every piece of text an error carries: messages, codes, Prisma's meta, the cause chain. */
function flatten(error: unknown, depth = 0): string {
  if (error === null || error === undefined || depth > 5) return "";
  if (typeof error !== "object") return String(error);
  const e = error as { message?: unknown; code?: unknown; meta?: unknown; cause?: unknown };
  const parts = [String(e.message ?? ""), String(e.code ?? "")];
  if (e.meta !== undefined) {
    try {
      parts.push(JSON.stringify(e.meta));
    } catch {
      // a cyclic meta: the message and code still say enough
    }
  }
  if (e.cause !== undefined) parts.push(flatten(e.cause, depth + 1));
  return parts.join(" ");
}

/**
 * `error` as a DatabaseError when it is a recognisable database failure (an already mapped one is
 * returned as is), otherwise undefined. `url` masks the connection string in the detail.
 */
export function recognizeDatabaseError(error: unknown, url?: string): DatabaseError | undefined {
  if (error instanceof DatabaseError) return error;
  if (error instanceof MirrorError && !error.code.startsWith("DB_")) return undefined;
  const text = flatten(error);
  const rule = RULES.find((r) => r.test.test(text));
  if (!rule) return undefined;
  const raw = error instanceof Error ? error.message : String(error);
  const detail = url ? maskDatabaseText(raw, url) : raw;
  return new DatabaseError(rule.code, rule.message, detail, error);
}

/** Like recognizeDatabaseError, but always a DatabaseError (DB_ERROR with the first line when unknown). */
export function databaseError(error: unknown, url?: string): DatabaseError {
  const known = recognizeDatabaseError(error, url);
  if (known) return known;
  const raw = error instanceof Error ? error.message : String(error);
  const detail = url ? maskDatabaseText(raw, url) : raw;
  const firstLine =
    detail
      .split("\n")
      .map((l) => l.trim())
      .filter((l) => l !== "" && !l.startsWith("Invalid `"))
      .at(-1) ?? "unknown error";
  return new DatabaseError("DB_ERROR", `database error: ${firstLine.slice(0, 200)}`, detail, error);
}
