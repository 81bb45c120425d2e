// Statements shared by every mirrored table (conversations, messages; next users and files): the
// multi-row upsert with its guards, the "seen again, unchanged" touch, the existence check and the
// soft delete. A table is described once (`defineMirrorTable`); the statements follow the mirror
// conventions every such table has: (app_id, <id>) primary key, content_hash, first_seen_at,
// synced_at, updated_at, deleted_at, and optionally a run marker (seen_run_id) for mark-and-sweep.
import { empty, identifier, join, MAX_PARAMS, type Sql, sql, sqlDistinct, sqlTimestamp } from "./shared.ts";

export interface MirrorTableSpec<T> {
  /** The table's name. */
  table: string;
  /** The id column, second half of the (app_id, id) primary key and the conflict target. */
  idColumn?: string;
  /** The table's own columns, in the order `values` returns them (app_id, the id and the
   * bookkeeping columns are added by the statements). */
  columns: readonly string[];
  /** The mark-and-sweep column set to the run that saw the row, if the table has one. */
  runColumn?: string;
  /** The id of an item (rows are de-duplicated and sorted by it). */
  id(item: T): string;
  /** The values of `columns` for one item: plain values (bound) or `Sql` fragments (sqlJson …). */
  values(item: T, pg: boolean): readonly unknown[];
}

/** A described table, with the statement parts that never change precomputed. */
export interface MirrorTable<T> extends MirrorTableSpec<T> {
  readonly name: Sql;
  readonly idSql: Sql;
  /** Parameters one row binds at most: what sizes a statement under MAX_PARAMS. */
  readonly rowsPerStatement: number;
  readonly insertColumns: Sql;
  /** The DO UPDATE assignments: every column from `excluded` except the first-seen time. */
  readonly updateColumns: Sql;
}

const BOOKKEEPING = ["content_hash", "first_seen_at", "synced_at", "updated_at", "deleted_at"] as const;

export function defineMirrorTable<T>(spec: MirrorTableSpec<T>): MirrorTable<T> {
  const idColumn = spec.idColumn ?? "id";
  const all = [
    "app_id",
    idColumn,
    ...spec.columns,
    ...BOOKKEEPING,
    ...(spec.runColumn ? [spec.runColumn] : []),
  ];
  const updated = [...spec.columns, "content_hash", "synced_at", "updated_at"];
  return {
    ...spec,
    name: identifier(spec.table),
    idSql: identifier(idColumn),
    rowsPerStatement: Math.floor(MAX_PARAMS / all.length),
    insertColumns: join(all.map(identifier)),
    updateColumns: join(updated.map((c) => sql`${identifier(c)} = excluded.${identifier(c)}`)),
  };
}

/** What one upsert call stamps on its rows. */
export interface RowStamp {
  appId: string;
  hash: string;
  seenAt: Date;
  runId: number | undefined;
}

/** One row's VALUES tuple: app_id, id, the table's columns, then the bookkeeping columns. */
export function rowValues<T>(pg: boolean, t: MirrorTable<T>, item: T, stamp: RowStamp): Sql {
  const seen = sqlTimestamp(pg, stamp.seenAt);
  const run = t.runColumn ? [stamp.runId === undefined ? sql`NULL` : stamp.runId] : [];
  return join(
    [stamp.appId, t.id(item), ...t.values(item, pg), stamp.hash, seen, seen, seen, sql`NULL`, ...run],
    ", ",
    "(",
    ")",
  );
}

/**
 * Which of `ids` exist already (SQLite only: PostgreSQL reports inserts itself, see upsertRows).
 * Served by the primary key (app_id, id).
 */
export function existingIds<T>(t: MirrorTable<T>, appId: string, ids: readonly string[]): Sql {
  return sql`SELECT ${t.idSql} AS id FROM ${t.name} WHERE app_id = ${appId} AND ${t.idSql} IN (${join(ids)})`;
}

/** Which of `ids` are soft-deleted now (writing them resurrects them: the totals move). Primary key. */
export function deletedIds<T>(t: MirrorTable<T>, appId: string, ids: readonly string[]): Sql {
  return sql`SELECT ${t.idSql} AS id FROM ${t.name}
    WHERE app_id = ${appId} AND ${t.idSql} IN (${join(ids)}) AND deleted_at IS NOT NULL`;
}

/**
 * One multi-row INSERT … ON CONFLICT DO UPDATE. The WHERE skips rows whose content_hash did not
 * change (no write, updated_at kept) unless the row was marked deleted (resurrection), and never
 * lets an older copy win: a copy fetched before the stored one (synced_at), or before the
 * deletion was confirmed (deleted_at), is ignored — whatever order concurrent pages commit in.
 * RETURNING gives the ids actually inserted or updated; on PostgreSQL also whether the row was
 * inserted (`xmax = 0` marks a row version created by INSERT), which stays correct when a
 * concurrent transaction inserted the same id between our read and our write.
 * Without a run id the run marker is kept (a non-reconcile sync must not erase it).
 */
export function upsertRows<T>(pg: boolean, t: MirrorTable<T>, rows: readonly Sql[], runId?: number): Sql {
  const run = t.runColumn ? identifier(t.runColumn) : undefined;
  const marker = !run
    ? empty
    : runId === undefined
      ? sql`, ${run} = ${t.name}.${run}`
      : sql`, ${run} = excluded.${run}`;
  const returning = pg
    ? sql`RETURNING ${t.idSql} AS id, (xmax = 0) AS inserted`
    : sql`RETURNING ${t.idSql} AS id`;
  return sql`INSERT INTO ${t.name} (${t.insertColumns})
    VALUES ${join(rows)}
    ON CONFLICT (app_id, ${t.idSql}) DO UPDATE SET ${t.updateColumns}, deleted_at = NULL${marker}
    WHERE (${t.name}.content_hash ${sqlDistinct(pg)} excluded.content_hash OR ${t.name}.deleted_at IS NOT NULL)
      AND excluded.synced_at >= ${t.name}.synced_at
      AND (${t.name}.deleted_at IS NULL OR excluded.synced_at > ${t.name}.deleted_at)
    ${returning}`;
}

/**
 * Rows seen again whose content did not change (or whose copy here is older): only the "seen"
 * markers move — synced_at never backwards, the run marker when a run saw them; updated_at stays.
 * Served by the primary key.
 */
export function touchUnchanged<T>(
  pg: boolean,
  t: MirrorTable<T>,
  appId: string,
  ids: readonly string[],
  seenAt: Date,
  runId?: number,
): Sql {
  const seen = sqlTimestamp(pg, seenAt);
  const marker = t.runColumn && runId !== undefined ? sql`, ${identifier(t.runColumn)} = ${runId}` : empty;
  return sql`UPDATE ${t.name}
    SET synced_at = CASE WHEN synced_at < ${seen} THEN ${seen} ELSE synced_at END${marker}
    WHERE app_id = ${appId} AND ${t.idSql} IN (${join(ids)})`;
}

/** Sets deleted_at on the live rows among `ids` (a confirmed deletion). Served by the primary key. */
export function markDeleted<T>(
  pg: boolean,
  t: MirrorTable<T>,
  appId: string,
  ids: readonly string[],
  at: Date,
): Sql {
  return sql`UPDATE ${t.name} SET deleted_at = ${sqlTimestamp(pg, at)}
    WHERE app_id = ${appId} AND ${t.idSql} IN (${join(ids)}) AND deleted_at IS NULL`;
}
