// A page transaction that loses its PostgreSQL connection (pg_terminate_backend, a failover, a
// pooler restart) is retried on a new pool connection: the transaction rolled back with the
// connection, and a page upsert is idempotent, so running it again is safe. Bounded, with
// backoff; after that the run fails with DB_CONNECTION_LOST. (The run lock's own session is not
// retried: losing it means another process may take the lock, see locks.ts.)
import { DatabaseError, isDriverError, recognizeDatabaseError } from "./db-errors.ts";
import type { Db } from "./open.ts";

export interface ConnectionRetry {
  /** Attempts after the first. */
  retries: number;
  /** Wait before the first retry (ms); doubled for each next one. */
  baseDelayMs: number;
}

export const CONNECTION_RETRY: ConnectionRetry = { retries: 4, baseDelayMs: 200 };

const RETRYABLE = new Set(["DB_CONNECTION_LOST", "DB_UNREACHABLE"]);

function connectionFailure(error: unknown): DatabaseError | undefined {
  if (
    !isDriverError(error) &&
    !(error instanceof Error && /Connection terminated|ECONNRESET|ECONNREFUSED/i.test(error.message))
  ) {
    return undefined;
  }
  const known = recognizeDatabaseError(error);
  return known && RETRYABLE.has(known.code) ? known : undefined;
}

/** Runs `transaction`, again on a lost PostgreSQL connection (SQLite: once, as given). */
export async function withConnectionRetry<T>(
  db: Db,
  transaction: () => Promise<T>,
  policy: ConnectionRetry = CONNECTION_RETRY,
): Promise<T> {
  if (!db.pg) return transaction();
  for (let attempt = 0; ; attempt++) {
    try {
      return await transaction();
    } catch (error) {
      const lost = connectionFailure(error);
      if (!lost) throw error;
      if (attempt >= policy.retries) {
        throw new DatabaseError(
          "DB_CONNECTION_LOST",
          `the database connection was lost and ${policy.retries} reconnects failed (${lost.code}); run again once PostgreSQL is back`,
          lost.detail,
          error,
        );
      }
      await new Promise((resolve) => setTimeout(resolve, policy.baseDelayMs * 2 ** attempt));
    }
  }
}
