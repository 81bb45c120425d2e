// What a run counts: one list of counters, shared by the engine (a run's progress and summary),
// the store (the `sync_runs` row), status, metrics and the CLI. A leaf module (it imports
// nothing), so every layer can use it without an import cycle; a new counter is added here once.

/** The counters of a run, in the order they are stored, logged and printed. */
export const RUN_COUNT_KEYS = [
  "pages",
  "fetched",
  "inserted",
  "updated",
  "unchanged",
  "markedDeleted",
] as const;

export type RunCountKey = (typeof RUN_COUNT_KEYS)[number];

/** Pages read, items fetched and what writing them did (conversations or messages, by run kind). */
export type RunCounts = Record<RunCountKey, number>;

export function zeroCounts(): RunCounts {
  return { pages: 0, fetched: 0, inserted: 0, updated: 0, unchanged: 0, markedDeleted: 0 };
}

/** Adds `delta` to `into` (mutating it) and returns `into`. */
export function addCounts(into: RunCounts, delta: Partial<RunCounts>): RunCounts {
  for (const key of RUN_COUNT_KEYS) into[key] += delta[key] ?? 0;
  return into;
}

/** Just the counters of a larger object (a run's progress, a `sync_runs` row), in key order. */
export function countsOf(source: RunCounts): RunCounts {
  const out = zeroCounts();
  for (const key of RUN_COUNT_KEYS) out[key] = source[key];
  return out;
}
