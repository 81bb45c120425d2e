// Statements of the run lock (see ../locks.ts for how the two providers lock).
import { type Sql, sql } from "./shared.ts";

/**
 * SQLite: takes the lock atomically — inserts the holder, or takes over a lease that expired;
 * otherwise changes nothing (the caller reads the row back to see whose it is). Primary key app_id.
 */
export function takeSqliteLease(row: {
  appId: string;
  token: string;
  kind: string;
  pid: number;
  host: string;
  acquiredAt: Date;
  expiresAt: Date;
}): Sql {
  return sql`INSERT INTO run_locks (app_id, token, kind, pid, host, acquired_at, expires_at)
    VALUES (${row.appId}, ${row.token}, ${row.kind}, ${row.pid}, ${row.host}, ${row.acquiredAt}, ${row.expiresAt})
    ON CONFLICT (app_id) DO UPDATE SET token = excluded.token, kind = excluded.kind, pid = excluded.pid,
      host = excluded.host, acquired_at = excluded.acquired_at, expires_at = excluded.expires_at
    WHERE run_locks.expires_at < excluded.acquired_at`;
}

/* PostgreSQL: a session-level advisory lock on the lock's own connection (node-postgres, which
 * binds $1 as a parameter). The key is a signed 64-bit number derived from the app id. */
export const TRY_ADVISORY_LOCK = "SELECT pg_try_advisory_lock($1::bigint) AS locked";
export const ADVISORY_UNLOCK = "SELECT pg_advisory_unlock($1::bigint)";
