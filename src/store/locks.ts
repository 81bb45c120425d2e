// The per-app run lock: backfill, sync and reconcile of one app never write at once, whether
// they run in one process, several, or several replicas of the container.
// - PostgreSQL: a session-level advisory lock held on a dedicated connection (Prisma's pool cannot
//   pin one). If the process dies, its connection closes and PostgreSQL frees the lock at once.
//   The run_locks row only records who holds it, for the error message.
// - SQLite: the run_locks row IS the lock: taken atomically, as a lease renewed while held. A row
//   whose lease expired, or left by a dead process on this same host (`kill -9`), is taken over.
import { createHash, randomUUID } from "node:crypto";
import pg from "pg";
import { databaseError } from "./db-errors.ts";
import type { Client, Db } from "./open.ts";
import { ADVISORY_UNLOCK, TRY_ADVISORY_LOCK, takeSqliteLease } from "./sql/locks.ts";
import type { RunLock, RunLockHolder, RunLockInfo } from "./types.ts";

/** SQLite lease: long enough to survive a stalled event loop, short enough that a lost host's lock frees itself. */
export const LEASE_MS = 60_000;
const HEARTBEAT_MS = 15_000;

/** A signed 64-bit advisory lock key derived from the app id (stable across processes and versions). */
export function advisoryKey(appId: string): string {
  const digest = createHash("sha256").update(`talkjs-mirror:${appId}`).digest();
  return digest.readBigInt64BE(0).toString();
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists but belongs to someone else.
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
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
      : await acquireSqliteLock(this.#db.client, appId, holder);
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
    throw databaseError(error, url);
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
  appId: string,
  holder: RunLockHolder,
): Promise<RunLock | null> {
  const existing = await client.runLock.findUnique({ where: { appId } });
  if (existing && existing.host === holder.host && !processAlive(existing.pid)) {
    // Left by a process of this host that died without releasing it (kill -9, crash).
    await client.runLock.deleteMany({ where: { appId, token: existing.token } });
  }
  const token = randomUUID();
  const acquiredAt = new Date();
  const expiresAt = new Date(acquiredAt.getTime() + LEASE_MS);
  await client.$executeRaw(takeSqliteLease({ appId, token, ...holder, acquiredAt, expiresAt }));
  const row = await client.runLock.findUnique({ where: { appId } });
  if (row?.token !== token) return null;
  const heartbeat = setInterval(() => {
    const until = new Date(Date.now() + LEASE_MS);
    client.runLock.updateMany({ where: { appId, token }, data: { expiresAt: until } }).catch(() => {});
  }, HEARTBEAT_MS);
  heartbeat.unref();
  return heldLock(appId, holder, async () => {
    clearInterval(heartbeat);
    await client.runLock.deleteMany({ where: { appId, token } });
  });
}
