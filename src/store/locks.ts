// The per-app run lock: backfill, sync and reconcile of one app never write at once, whether
// they run in one process, several, or several replicas of the container. Both providers use a lock
// the KERNEL releases with the process (kill -9, crash, an unreaped zombie), never a pid or a
// timestamp guess:
// - PostgreSQL: a session-level advisory lock held on a dedicated connection (Prisma's pool cannot
//   pin one). If the process dies, its connection closes and PostgreSQL frees the lock at once.
// - SQLite: `BEGIN EXCLUSIVE` held for the run's lifetime on a separate lock database next to the
//   mirror (`<db>.<app key>.lock`): SQLite's file lock is an fcntl lock, which the kernel drops
//   when the process's descriptors close — before it even becomes a zombie.
// In both, the run_locks row only records who holds it, for the RUN_LOCKED message.
import { createHash, randomUUID } from "node:crypto";
import Database from "better-sqlite3";
import pg from "pg";
import { MirrorError } from "../errors.ts";
import { redactDatabaseUrl } from "./database-url.ts";
import type { Client, Db } from "./open.ts";
import { ADVISORY_UNLOCK, SQLITE_LOCK_BEGIN, SQLITE_LOCK_END, TRY_ADVISORY_LOCK } from "./sql/locks.ts";
import type { RunLock, RunLockHolder, RunLockInfo } from "./types.ts";

/** What `expires_at` of the description row says (informational: no lock depends on it). */
export const LEASE_MS = 60_000;

/** A signed 64-bit advisory lock key derived from the app id (stable across processes and versions). */
export function advisoryKey(appId: string): string {
  const digest = createHash("sha256").update(`talkjs-mirror:${appId}`).digest();
  return digest.readBigInt64BE(0).toString();
}

/** The SQLite lock database of one app next to the mirror file: one lock per app, like PostgreSQL's key. */
export function sqliteLockPath(databaseUrl: string, appId: string): string {
  const file = databaseUrl.startsWith("file:") ? databaseUrl.slice("file:".length) : databaseUrl;
  const key = createHash("sha256").update(`talkjs-mirror:${appId}`).digest("hex").slice(0, 16);
  return `${file}.${key}.lock`;
}

/** A held lock whose release runs once, however often it is called. */
function heldLock(appId: string, holder: RunLockHolder, release: () => Promise<void>): RunLock {
  let released = false;
  return {
    appId,
    holder,
    async release() {
      if (released) return;
      released = true;
      await release();
    },
  };
}

/** The run locks one store has taken: each released on request, all of them when the store closes. */
export class RunLocks {
  readonly #db: Db;
  readonly #held = new Set<RunLock>();

  constructor(db: Db) {
    this.#db = db;
  }

  async acquire(appId: string, holder: RunLockHolder): Promise<RunLock | null> {
    const lock = this.#db.pg
      ? await acquirePostgresLock(this.#db.client, this.#db.url, appId, holder)
      : await acquireSqliteLock(this.#db.client, this.#db.url, appId, holder);
    if (!lock) return null;
    this.#held.add(lock);
    return heldLock(appId, holder, async () => {
      this.#held.delete(lock);
      await lock.release();
    });
  }

  async describe(appId: string): Promise<RunLockInfo | null> {
    const row = await this.#db.client.runLock.findUnique({ where: { appId } });
    return row ? { kind: row.kind, pid: row.pid, host: row.host, acquiredAt: row.acquiredAt } : null;
  }

  /** Releases every lock still held (the store is closing); failures are ignored. */
  async releaseAll(): Promise<void> {
    for (const lock of [...this.#held]) await lock.release().catch(() => {});
    this.#held.clear();
  }
}

async function recordHolder(client: Client, appId: string, token: string, h: RunLockHolder): Promise<void> {
  const now = new Date();
  const data = {
    token,
    kind: h.kind,
    pid: h.pid,
    host: h.host,
    acquiredAt: now,
    expiresAt: new Date(now.getTime() + LEASE_MS),
  };
  await client.runLock.upsert({ where: { appId }, create: { appId, ...data }, update: data });
}

async function acquirePostgresLock(
  client: Client,
  url: string,
  appId: string,
  holder: RunLockHolder,
): Promise<RunLock | null> {
  const session = new pg.Client({ connectionString: url });
  try {
    await session.connect();
  } catch (error) {
    throw new MirrorError(
      "DB_OPEN_FAILED",
      `Cannot open the lock connection to PostgreSQL ${redactDatabaseUrl(url)}: ${(error as Error).message}`,
    );
  }
  // A lock connection that dies (server restart) surfaces on the next query; never crash on it.
  session.on("error", () => {});
  const key = advisoryKey(appId);
  const { rows } = await session.query<{ locked: boolean }>(TRY_ADVISORY_LOCK, [key]);
  if (!rows[0]?.locked) {
    await session.end();
    return null;
  }
  const token = randomUUID();
  await recordHolder(client, appId, token, holder);
  return heldLock(appId, holder, async () => {
    await client.runLock.deleteMany({ where: { appId, token } }).catch(() => {});
    // Ending the session frees the advisory lock even if the unlock itself fails.
    await session.query(ADVISORY_UNLOCK, [key]).catch(() => {});
    await session.end().catch(() => {});
  });
}

async function acquireSqliteLock(
  client: Client,
  url: string,
  appId: string,
  holder: RunLockHolder,
): Promise<RunLock | null> {
  const path = sqliteLockPath(url, appId);
  let session: Database.Database;
  try {
    // No busy wait: a held lock answers SQLITE_BUSY at once. Rollback journal (the default), so
    // BEGIN EXCLUSIVE takes the file's exclusive lock immediately, not at the first write.
    session = new Database(path, { timeout: 0 });
  } catch (error) {
    throw new MirrorError(
      "DB_OPEN_FAILED",
      `Cannot open the SQLite lock file ${path}: ${(error as Error).message}`,
    );
  }
  try {
    session.exec(SQLITE_LOCK_BEGIN);
  } catch (error) {
    session.close();
    if ((error as { code?: string }).code === "SQLITE_BUSY") return null;
    throw new MirrorError("DB_OPEN_FAILED", `Cannot lock ${path}: ${(error as Error).message}`);
  }
  const token = randomUUID();
  try {
    await recordHolder(client, appId, token, holder);
  } catch (error) {
    session.close();
    throw error;
  }
  return heldLock(appId, holder, async () => {
    await client.runLock.deleteMany({ where: { appId, token } }).catch(() => {});
    try {
      session.exec(SQLITE_LOCK_END);
    } finally {
      // Closing the connection releases the lock even if the rollback failed.
      session.close();
    }
  });
}
