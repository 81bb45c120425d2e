// Statements of the run lock (see ../locks.ts for how the two providers lock).
/* SQLite: the lock is an exclusive transaction on the app's lock database (see ../locks.ts), held
 * for the run's lifetime and ended by a rollback (nothing is ever written in it). */
export const SQLITE_LOCK_BEGIN = "BEGIN EXCLUSIVE";
export const SQLITE_LOCK_END = "ROLLBACK";

/* PostgreSQL: a session-level advisory lock on the lock's own connection (node-postgres, which
 * binds $1 as a parameter). The key is a signed 64-bit number derived from the app id. */
export const TRY_ADVISORY_LOCK = "SELECT pg_try_advisory_lock($1::bigint) AS locked";
export const ADVISORY_UNLOCK = "SELECT pg_advisory_unlock($1::bigint)";
