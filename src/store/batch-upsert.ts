// The one way a page of API objects becomes rows: for any mirror table (./sql/upsert.ts), one
// transaction of multi-row INSERT … ON CONFLICT DO UPDATE statements, unchanged rows skipped by
// content hash, an older copy never overwriting a newer one, and counts of what changed. Per-row
// Prisma upserts are >10x slower (bench/store-upsert.ts).
import { contentHash } from "./hash.ts";
import type { Db, Tx } from "./open.ts";
import { withConnectionRetry } from "./retry.ts";
import { chunk, MAX_PARAMS } from "./sql/shared.ts";
import { addRunCounts, addTotals, isTotalsTable } from "./sql/totals.ts";
import {
  deletedIds,
  existingIds,
  type MirrorTable,
  markDeleted,
  rowValues,
  touchUnchanged,
  upsertRows,
} from "./sql/upsert.ts";
import type { UpsertCounts } from "./types.ts";

export interface BatchUpsertOptions<T> {
  /** When the page was fetched: first_seen_at/synced_at/updated_at use it. */
  seenAt: Date;
  /** The run that saw these rows, for tables with a run marker (mark-and-sweep). */
  runId?: number | undefined;
  /**
   * In the transaction, after the rows: what depends on the items that were inserted or updated
   * (conversations: replace their participants). Not called for unchanged items.
   */
  afterWrite?: (tx: Tx, written: T[]) => Promise<void>;
  /** In the transaction, last: what must commit with the page (the stream's checkpoint). */
  beforeCommit?: (tx: Tx) => Promise<void>;
  /** The recorded run this page belongs to: its sync_runs counters advance in the page's transaction. */
  countInRun?: RunPageCount | undefined;
}

/** The run a page is counted in, and how many API pages it merges. */
export interface RunPageCount {
  runId: number;
  pages: number;
}

/** Generous: a page that waits behind a long one, or a slow disk, must not abort the sync. */
const TRANSACTION = { timeout: 120_000, maxWait: 60_000 } as const;

export async function batchUpsert<T>(
  db: Db,
  table: MirrorTable<T>,
  appId: string,
  items: readonly T[],
  opts: BatchUpsertOptions<T>,
): Promise<UpsertCounts> {
  // Last occurrence wins: one statement must not touch the same row twice (PG refuses).
  const byId = new Map<string, { id: string; item: T; hash: string }>();
  for (const item of items) {
    const id = table.id(item);
    byId.set(id, { id, item, hash: contentHash(item) });
  }
  // Sorted: concurrent writers then lock rows in the same order (no deadlocks on PostgreSQL).
  const rows = [...byId.values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  if (rows.length === 0 && !opts.beforeCommit && !opts.countInRun)
    return { inserted: 0, updated: 0, unchanged: 0 };
  const { seenAt, runId } = opts;
  const { pg } = db;

  // Everything the transaction computes lives inside it, so a retry starts clean.
  return withConnectionRetry(db, () =>
    db.client.$transaction(async (tx) => {
      const written = new Set<string>();
      const existing = new Set<string>();
      const wasDeleted = new Set<string>();
      for (const part of chunk(rows, table.rowsPerStatement)) {
        const found = await tx.$queryRaw<{ id: string }[]>(
          deletedIds(
            table,
            appId,
            part.map((r) => r.id),
          ),
        );
        for (const r of found) wasDeleted.add(r.id);
        if (!pg) {
          // SQLite has one writer and the adapter runs one transaction at a time, so what exists
          // now still exists at the INSERT. (PostgreSQL reports inserts itself, see upsertRows.)
          const ids = part.map((r) => r.id);
          const found = await tx.$queryRaw<{ id: string }[]>(existingIds(table, appId, ids));
          for (const r of found) existing.add(r.id);
        }
        const values = part.map((r) => rowValues(pg, table, r.item, { appId, hash: r.hash, seenAt, runId }));
        const changed = await tx.$queryRaw<{ id: string; inserted?: boolean }[]>(
          upsertRows(pg, table, values, runId),
        );
        for (const r of changed) {
          written.add(r.id);
          if (r.inserted === false) existing.add(r.id);
        }
      }
      const unchanged = rows.filter((r) => !written.has(r.id)).map((r) => r.id);
      for (const ids of chunk(unchanged, MAX_PARAMS)) {
        await tx.$executeRaw(touchUnchanged(pg, table, appId, ids, seenAt, runId));
      }
      const changedItems = rows.filter((r) => written.has(r.id)).map((r) => r.item);
      if (opts.afterWrite) await opts.afterWrite(tx, changedItems);
      if (opts.beforeCommit) await opts.beforeCommit(tx);
      const counts: UpsertCounts = { inserted: 0, updated: 0, unchanged: unchanged.length };
      let resurrected = 0;
      for (const r of rows) {
        if (!written.has(r.id)) continue;
        if (existing.has(r.id)) counts.updated++;
        else counts.inserted++;
        if (wasDeleted.has(r.id)) resurrected++;
      }
      // The counters commit with the page: a run killed after it still shows it, and the totals
      // /metrics reads never drift from the rows.
      const name = tableName(table);
      if (isTotalsTable(name) && counts.inserted + resurrected > 0) {
        await tx.$executeRaw(addTotals(pg, appId, name, counts.inserted + resurrected, -resurrected));
      }
      if (opts.countInRun) {
        await tx.$executeRaw(
          addRunCounts(opts.countInRun.runId, {
            ...counts,
            pages: opts.countInRun.pages,
            fetched: items.length,
          }),
        );
      }
      return counts;
    }, TRANSACTION),
  );
}

/** Soft-deletes the live rows among `ids` (deletions confirmed at TalkJS); returns how many changed. */
export async function markDeletedRows<T>(
  db: Db,
  table: MirrorTable<T>,
  appId: string,
  ids: readonly string[],
  at: Date,
): Promise<number> {
  let count = 0;
  const name = tableName(table);
  for (const part of chunk(ids, MAX_PARAMS)) {
    count += await db.client.$transaction(async (tx) => {
      const marked = await tx.$executeRaw(markDeleted(db.pg, table, appId, part, at));
      if (marked > 0 && isTotalsTable(name))
        await tx.$executeRaw(addTotals(db.pg, appId, name, -marked, marked));
      return marked;
    }, TRANSACTION);
  }
  return count;
}

function tableName<T>(table: MirrorTable<T>): string {
  return table.table;
}
