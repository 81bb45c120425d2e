// Retention of the run ledger: sync_runs grows by two rows a minute under the worker, so runs
// older than the retention are pruned — but never a kind's latest run, which status and report show.
import type { Store } from "../store/store.ts";

const DAY_MS = 86_400_000;

/** Deletes the app's runs older than `retentionDays` (except each kind's latest); returns how many. */
export function pruneRunHistory(
  store: Store,
  appId: string,
  retentionDays: number,
  now: number,
): Promise<number> {
  return store.pruneRuns(appId, new Date(now - retentionDays * DAY_MS));
}
