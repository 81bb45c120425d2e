// How quantities read in text meant for people (command summaries, progress lines, status, the
// report in the terminal and in HTML): one formatter per kind of quantity, so every output writes
// 12,345 and "5 min" the same way. A leaf module (imports nothing). JSON and CSV output carry the
// raw numbers, never these strings.

/** A count with thousands separators, the same whatever the machine's locale: 12,345. */
export function count(x: number): string {
  return x.toLocaleString("en-US");
}

/** A run's rate: items per second over `ms`, rounded; the items themselves when no time passed. */
export function perSecond(items: number, ms: number): number {
  return ms > 0 ? Math.round(items / (ms / 1000)) : items;
}

/**
 * A duration, in one of two precisions:
 * - "rounded" (statistics, e.g. a median response time): one unit, "45 s", "12 min", "5 h",
 *   "3 days"; each unit is used up to twice the next (119 s, 119 min, 47 h).
 * - "exact" (how long a run took, how far behind the mirror is): tenths of a second under a
 *   minute, then two units, "6.5 s", "3 min 21 s", "2 h 31 min" — a 2.5-hour backfill is not "3 h".
 */
export function duration(ms: number, precision: "rounded" | "exact" = "rounded"): string {
  if (precision === "exact") {
    if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
    const minutes = Math.floor(ms / 60_000);
    if (minutes < 120) return `${minutes} min ${Math.round((ms % 60_000) / 1000)} s`;
    return `${Math.floor(minutes / 60)} h ${minutes % 60} min`;
  }
  const s = Math.round(ms / 1000);
  if (s < 120) return `${s} s`;
  if (s < 7200) return `${Math.round(s / 60)} min`;
  if (s < 172_800) return `${Math.round(s / 3600)} h`;
  return `${Math.round(s / 86_400)} days`;
}

/**
 * Elapsed time as a stopwatch shows it, "1:05" or "1:02:05": for a live progress line that is
 * rewritten every second, where a reading that ticks by the second matters more than a unit.
 */
export function stopwatch(ms: number): string {
  const s = Math.floor(ms / 1000);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const ss = String(s % 60).padStart(2, "0");
  return h > 0 ? `${h}:${String(m).padStart(2, "0")}:${ss}` : `${m}:${ss}`;
}

/** Bytes for people: "512 B", "3.4 KB", "12.0 MB", "1.2 GB" (powers of 1024). */
export function bytes(n: number): string {
  const units = ["B", "KB", "MB", "GB", "TB"];
  let value = n;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${n} B` : `${value.toFixed(1)} ${units[unit]}`;
}
