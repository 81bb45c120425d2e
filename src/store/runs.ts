// Runs and sync state: the sync_runs ledger (one row per backfill/sync/reconcile/messages run)
// and sync_state (per stream: cursor, watermark, last success and error). Single rows by key, so
// the model API; the checkpoint written inside a page's transaction and retention are ./sql/runs.ts.
import { maskDatabaseText } from "./database-url.ts";
import type { Db } from "./open.ts";
import { pruneRuns } from "./sql/runs.ts";
import type { RunResult, RunStatus, SyncRunRow, SyncStateRow, SyncStateUpdate } from "./types.ts";

export class RunStore {
  readonly #db: Db;

  constructor(db: Db) {
    this.#db = db;
  }

  getSyncState(appId: string, stream: string): Promise<SyncStateRow | null> {
    return this.#db.client.syncState.findUnique({ where: { appId_stream: { appId, stream } } });
  }

  async saveSyncState(appId: string, stream: string, state: SyncStateUpdate): Promise<void> {
    const data = {
      cursor: state.cursor,
      ...(state.watermark !== undefined ? { watermark: state.watermark } : {}),
      ...(state.lastSuccessAt !== undefined ? { lastSuccessAt: state.lastSuccessAt, lastError: null } : {}),
      updatedAt: new Date(),
    };
    await this.#db.client.syncState.upsert({
      where: { appId_stream: { appId, stream } },
      create: { appId, stream, ...data },
      update: data,
    });
  }

  async recordSyncError(
    appId: string,
    stream: string,
    rawError: string,
    at: Date = new Date(),
  ): Promise<void> {
    // Whatever failed may have quoted the connection string: it is stored masked.
    const error = maskDatabaseText(rawError, this.#db.url);
    await this.#db.client.syncState.upsert({
      where: { appId_stream: { appId, stream } },
      create: { appId, stream, lastError: error, lastErrorAt: at, updatedAt: at },
      update: { lastError: error, lastErrorAt: at, updatedAt: at },
    });
  }

  /** `targetAppId`: a restore's target app (see closeAbandonedRestores). */
  async startRun(
    appId: string,
    kind: string,
    startedAt: Date = new Date(),
    targetAppId?: string,
  ): Promise<number> {
    const run = await this.#db.client.syncRun.create({
      data: {
        appId,
        kind,
        startedAt,
        status: "running",
        ...(targetAppId !== undefined ? { targetAppId } : {}),
      },
      select: { id: true },
    });
    return run.id;
  }

  async finishRun(id: number, result: RunResult): Promise<void> {
    await this.#db.client.syncRun.update({
      where: { id },
      data: {
        status: result.status,
        finishedAt: result.finishedAt ?? new Date(),
        error: result.error == null ? null : maskDatabaseText(result.error, this.#db.url),
        ...result.counts,
        ...(result.throttle && {
          rateLimited: result.throttle.rateLimited,
          pausedMs: BigInt(Math.round(result.throttle.pausedMs)),
          endRate: result.throttle.endRate,
        }),
      },
    });
  }

  /**
   * Under the app's run lock: closes its runs left `running` by a process that died. Not restores
   * (a restore holds its target's restore lock, not this one: it may well be alive).
   */
  async closeAbandonedRuns(appId: string, at: Date = new Date()): Promise<number> {
    const result = await this.#db.client.syncRun.updateMany({
      where: { appId, status: "running", NOT: { kind: "restore", targetAppId: { not: null } } },
      data: abandoned(at),
    });
    return result.count;
  }

  /** Under a target's restore lock: closes the restores into it (from this mirror) left `running`. */
  async closeAbandonedRestores(appId: string, targetAppId: string, at: Date = new Date()): Promise<number> {
    const result = await this.#db.client.syncRun.updateMany({
      where: { appId, status: "running", kind: "restore", targetAppId },
      data: abandoned(at),
    });
    return result.count;
  }

  /** The latest run of one kind, however many runs of other kinds came after it. (app_id, kind, id). */
  async lastRunOfKind(appId: string, kind: string): Promise<SyncRunRow | null> {
    const row = await this.#db.client.syncRun.findFirst({ where: { appId, kind }, orderBy: { id: "desc" } });
    return row ? runRow(row) : null;
  }

  /** Deletes finished runs started before `before`, never the latest of a kind; returns how many. */
  pruneRuns(appId: string, before: Date): Promise<number> {
    return this.#db.client.$executeRaw(pruneRuns(this.#db.pg, appId, before));
  }

  async lastRuns(appId: string, limit = 10): Promise<SyncRunRow[]> {
    const rows = await this.#db.client.syncRun.findMany({
      where: { appId },
      orderBy: { id: "desc" },
      take: limit,
    });
    return rows.map(runRow);
  }
}

/** paused_ms is a bigint column; a run's pause fits a JS number by far. */
function runRow<R extends { status: string; pausedMs: bigint }>(
  row: R,
): Omit<R, "status" | "pausedMs"> & { status: RunStatus; pausedMs: number } {
  return { ...row, status: row.status as RunStatus, pausedMs: Number(row.pausedMs) };
}

const abandoned = (at: Date) => ({
  status: "abandoned",
  finishedAt: at,
  error: "the process stopped before the run finished (killed or crashed)",
});
