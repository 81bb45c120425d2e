// Statements of the runs family: sync_state (checkpoints and watermarks per stream) and sync_runs.
// Everything else there is single-row by key and goes through the model API (see ../runs.ts).
import { empty, type Sql, sql, sqlTimestamp } from "./shared.ts";

/**
 * The checkpoint that commits with a page, in the page's transaction: the stream's cursor (and
 * watermark, when given), marked a success at `at`. One statement on the sync_state primary key
 * (app_id, stream); the model API's upsert is compiled per call, a visible share of a page of 30.
 */
export function saveCheckpoint(
  pg: boolean,
  appId: string,
  checkpoint: { stream: string; cursor: string | null; watermark?: Date | null },
  at: Date,
): Sql {
  const watermark = checkpoint.watermark !== undefined ? sql`watermark = excluded.watermark,` : empty;
  return sql`INSERT INTO sync_state (app_id, stream, cursor, watermark, last_success_at, last_error, updated_at)
    VALUES (${appId}, ${checkpoint.stream}, ${checkpoint.cursor}, ${sqlTimestamp(pg, checkpoint.watermark ?? null)},
      ${sqlTimestamp(pg, at)}, NULL, ${sqlTimestamp(pg, new Date())})
    ON CONFLICT (app_id, stream) DO UPDATE SET cursor = excluded.cursor, ${watermark}
      last_success_at = excluded.last_success_at, last_error = NULL, updated_at = excluded.updated_at`;
}

/**
 * Retention: deletes finished runs of one app started before `before`, except the latest run of
 * each kind (status must always find the last backfill and reconcile, however old). The range is
 * served by (app_id, started_at); the latest of each kind by (app_id, kind, id).
 */
export function pruneRuns(pg: boolean, appId: string, before: Date): Sql {
  return sql`DELETE FROM sync_runs
    WHERE app_id = ${appId} AND started_at < ${sqlTimestamp(pg, before)} AND status <> 'running'
      AND id NOT IN (SELECT MAX(id) FROM sync_runs WHERE app_id = ${appId} GROUP BY kind)`;
}
