// The users half of the store: page upserts through the shared batch upsert (with the backfill's
// checkpoint in the same transaction), what the sync's users pass and reconcile's sweep need, and
// the stats of `status` and the demo.
import type { MirroredUser } from "../talkjs/types.ts";
import { batchUpsert, markDeletedRows } from "./batch-upsert.ts";
import type { Db, Tx } from "./open.ts";
import { erasedIds, redactUsers } from "./privacy.ts";
import { saveCheckpoint } from "./sql/runs.ts";
import { chunk, MAX_PARAMS, toNumber } from "./sql/shared.ts";
import { knownUserIds, USERS, userStats } from "./sql/users.ts";
import { unseenLive } from "./sweep.ts";
import type { StoredUser, UpsertCounts, UpsertOptions } from "./types.ts";

export class UserStore {
  readonly #db: Db;

  constructor(db: Db) {
    this.#db = db;
  }

  /** Upserts one page in one transaction (with `opts.checkpoint`, if any); returns what changed. */
  async upsert(appId: string, users: readonly MirroredUser[], opts: UpsertOptions): Promise<UpsertCounts> {
    const { checkpoint, seenAt } = opts;
    // An erased user is blanked on the way in (./privacy.ts).
    const erased = await erasedIds(this.#db, appId);
    return batchUpsert(this.#db, USERS, appId, redactUsers(users, erased), {
      seenAt,
      runId: opts.runId,
      ...(checkpoint
        ? {
            beforeCommit: async (tx: Tx) => {
              await tx.$executeRaw(saveCheckpoint(this.#db.pg, appId, checkpoint, seenAt));
            },
          }
        : {}),
    });
  }

  get(appId: string, id: string): Promise<StoredUser | null> {
    return this.#db.client.user.findUnique({ where: { appId_id: { appId, id } } });
  }

  /** The ids among `ids` without a users row (cost: primary key lookups for these ids only). */
  async unknownIds(appId: string, ids: Iterable<string>): Promise<string[]> {
    const wanted = [...new Set(ids)];
    const known = new Set<string>();
    for (const part of chunk(wanted, MAX_PARAMS)) {
      const rows = await this.#db.client.$queryRaw<{ id: string }[]>(knownUserIds(appId, part));
      for (const r of rows) known.add(r.id);
    }
    return wanted.filter((id) => !known.has(id));
  }

  countLive(appId: string): Promise<number> {
    return this.#db.client.user.count({ where: { appId, deletedAt: null } });
  }

  /** Live users `runId` has not seen, by id, keyset-paged: reconcile's deletion candidates. */
  async listUnseenLive(appId: string, runId: number, limit: number, afterId?: string): Promise<string[]> {
    const rows = await this.#db.client.user.findMany({
      where: unseenLive(appId, runId, afterId),
      select: { id: true },
      orderBy: { id: "asc" },
      take: limit,
    });
    return rows.map((r) => r.id);
  }

  countUnseenLive(appId: string, runId: number): Promise<number> {
    return this.#db.client.user.count({ where: unseenLive(appId, runId) });
  }

  markDeleted(appId: string, ids: string[], at: Date): Promise<number> {
    return markDeletedRows(this.#db, USERS, appId, ids, at);
  }

  async stats(appId: string): Promise<{ live: number; deleted: number }> {
    const [row] = await this.#db.client.$queryRaw<Record<string, unknown>[]>(userStats(appId));
    return { live: toNumber(row?.live), deleted: toNumber(row?.deleted) };
  }
}
