// The mirror's running totals (mirror_totals): kept exact by the writes themselves (see
// batch-upsert.ts), counted once per app by ensure(), read in O(1) by /metrics.
import type { Db } from "./open.ts";
import { toDate, toNumber } from "./sql/shared.ts";
import { initTotals, newestLiveActivity, readTotals } from "./sql/totals.ts";
import type { MirrorTotals } from "./types.ts";

export class TotalsStore {
  readonly #db: Db;

  constructor(db: Db) {
    this.#db = db;
  }

  /** Counts the app's totals once if it has no row yet. Call only while holding the app's run lock. */
  async ensure(appId: string): Promise<void> {
    await this.#db.client.$executeRaw(initTotals(this.#db.pg, appId));
  }

  /** The app's totals and newest live activity; null before a run has counted them. */
  async read(appId: string): Promise<MirrorTotals | null> {
    const [row] = await this.#db.client.$queryRaw<Record<string, unknown>[]>(readTotals(appId));
    if (!row) return null;
    const [newest] = await this.#db.client.$queryRaw<Record<string, unknown>[]>(newestLiveActivity(appId));
    return {
      conversationsLive: toNumber(row.conversations_live),
      conversationsDeleted: toNumber(row.conversations_deleted),
      messagesLive: toNumber(row.messages_live),
      messagesDeleted: toNumber(row.messages_deleted),
      newestActivityAt: toDate(newest?.last_activity_at),
    };
  }
}
