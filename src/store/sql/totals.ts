// Statements of the counters that make reading the mirror's size O(1): the mirror_totals row of an
// app (maintained with every write that changes a live or deleted count) and a run's counters on
// its sync_runs row (advanced with every committed page, so a killed run shows what it committed).
import { type Sql, sql, sqlTimestamp } from "./shared.ts";

/** Which mirror_totals columns count a mirror table's live and deleted rows. */
const TOTAL_COLUMNS = {
  conversations: { live: sql`conversations_live`, deleted: sql`conversations_deleted` },
  messages: { live: sql`messages_live`, deleted: sql`messages_deleted` },
} as const;

export type TotalsTable = keyof typeof TOTAL_COLUMNS;

export function isTotalsTable(name: string): name is TotalsTable {
  return Object.hasOwn(TOTAL_COLUMNS, name);
}

/** Moves an app's totals by what one write changed. Primary key app_id (no row yet: no-op). */
export function addTotals(
  pg: boolean,
  appId: string,
  table: TotalsTable,
  live: number,
  deleted: number,
): Sql {
  const c = TOTAL_COLUMNS[table];
  return sql`UPDATE mirror_totals SET ${c.live} = ${c.live} + ${live}, ${c.deleted} = ${c.deleted} + ${deleted},
      updated_at = ${sqlTimestamp(pg, new Date())}
    WHERE app_id = ${appId}`;
}

/**
 * The one time totals are counted: when an app has no totals row yet (a new mirror, or one made
 * before totals existed), by a run holding the app's lock so no write of this app runs meanwhile.
 * Range scans of the two primary keys; a no-op once the row exists.
 */
export function initTotals(pg: boolean, appId: string): Sql {
  return sql`INSERT INTO mirror_totals (app_id, conversations_live, conversations_deleted, messages_live, messages_deleted, updated_at)
    SELECT ${appId},
      (SELECT COUNT(*) FROM conversations WHERE app_id = ${appId} AND deleted_at IS NULL),
      (SELECT COUNT(*) FROM conversations WHERE app_id = ${appId} AND deleted_at IS NOT NULL),
      (SELECT COUNT(*) FROM messages WHERE app_id = ${appId} AND deleted_at IS NULL),
      (SELECT COUNT(*) FROM messages WHERE app_id = ${appId} AND deleted_at IS NOT NULL),
      ${sqlTimestamp(pg, new Date())}
    WHERE NOT EXISTS (SELECT 1 FROM mirror_totals WHERE app_id = ${appId})`;
}

/** The scrape's read: one row by primary key. */
export function readTotals(appId: string): Sql {
  return sql`SELECT conversations_live, conversations_deleted, messages_live, messages_deleted
    FROM mirror_totals WHERE app_id = ${appId}`;
}

/**
 * The newest live activity (the lag gauge): the top of index (app_id, last_activity_at), read
 * backwards until a live row — one row in practice, never a count.
 */
export function newestLiveActivity(appId: string): Sql {
  return sql`SELECT last_activity_at FROM conversations
    WHERE app_id = ${appId} AND deleted_at IS NULL ORDER BY last_activity_at DESC LIMIT 1`;
}

/** A committed page's counts added to its run's row, in the page's transaction. Primary key id. */
export function addRunCounts(
  runId: number,
  d: { pages: number; fetched: number; inserted: number; updated: number; unchanged: number },
): Sql {
  return sql`UPDATE sync_runs SET pages = pages + ${d.pages}, fetched = fetched + ${d.fetched},
      inserted = inserted + ${d.inserted}, updated = updated + ${d.updated}, unchanged = unchanged + ${d.unchanged}
    WHERE id = ${runId}`;
}
