// Arrays of records kept sorted ascending by (timestamp, id). The id tiebreaker makes the order
// total and deterministic even with hundreds of records in one millisecond. A page is a binary
// search for its start followed by a walk, so a listing never re-sorts; a mutation moves one
// record with two binary searches and a splice. Generic over the record so other listings
// (users, files) can use the same index.

/** A record in a sorted index: anything with an id. */
export interface Indexed {
  readonly id: string;
}

/** The timestamp a record is sorted by (createdAt, lastActivity, ...). */
export type TsKey<R extends Indexed> = (r: R) => number;

/** Total order on (ts, id): the timestamp, then the id (UTF-16 code unit order) as tiebreaker. */
export function compareTsId(aTs: number, aId: string, bTs: number, bId: string): number {
  if (aTs !== bTs) return aTs < bTs ? -1 : 1;
  return aId < bId ? -1 : aId > bId ? 1 : 0;
}

/** Sorts records in place by (key, id) and returns the array. */
export function sortByKey<R extends Indexed>(arr: R[], key: TsKey<R>): R[] {
  return arr.sort((a, b) => compareTsId(key(a), a.id, key(b), b.id));
}

/** First index whose (ts, id) is >= (ts, id) — or > when `strict`. */
function boundByKey<R extends Indexed>(
  arr: R[],
  key: TsKey<R>,
  ts: number,
  id: string,
  strict: boolean,
): number {
  let lo = 0;
  let hi = arr.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    const r = arr[mid] as R;
    const c = compareTsId(key(r), r.id, ts, id);
    if (c < 0 || (strict && c === 0)) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** First index whose timestamp is >= ts — or > when `strict`. */
function boundByTs<R extends Indexed>(arr: R[], key: TsKey<R>, ts: number, strict: boolean): number {
  let lo = 0;
  let hi = arr.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    const k = key(arr[mid] as R);
    if (k < ts || (strict && k === ts)) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * The index range [first, last] of an ascending array that a page may draw from, walking
 * forwards for ASC and backwards for DESC. `after` is the cursor's (ts, id); offsetTs bounds by
 * timestamp only: ASC keeps ts > offsetTs (>= when `inclusive`), DESC keeps ts < offsetTs (<=).
 * When both are given both apply, i.e. the more restrictive one wins.
 */
export function pageRange<R extends Indexed>(
  arr: R[],
  key: TsKey<R>,
  direction: "ASC" | "DESC",
  after: { ts: number; id: string } | undefined,
  offsetTs: number | undefined,
  inclusive: boolean,
): { first: number; last: number } {
  let first = 0;
  let last = arr.length - 1;
  if (direction === "ASC") {
    if (after) first = Math.max(first, boundByKey(arr, key, after.ts, after.id, true));
    if (offsetTs !== undefined) first = Math.max(first, boundByTs(arr, key, offsetTs, !inclusive));
  } else {
    if (after) last = Math.min(last, boundByKey(arr, key, after.ts, after.id, false) - 1);
    if (offsetTs !== undefined) last = Math.min(last, boundByTs(arr, key, offsetTs, inclusive) - 1);
  }
  return { first, last };
}

/** Inserts `r` at its place (its key must not change while it is in the array). */
export function insertSorted<R extends Indexed>(arr: R[], key: TsKey<R>, r: R): void {
  arr.splice(boundByKey(arr, key, key(r), r.id, false), 0, r);
}

/** Removes the record that sits at (ts, id); `ts` is the key it was inserted with. */
export function removeSorted<R extends Indexed>(arr: R[], key: TsKey<R>, ts: number, id: string): void {
  const i = boundByKey(arr, key, ts, id, false);
  if (arr[i]?.id !== id) throw new Error(`index corrupt: ${id} not at its position`);
  arr.splice(i, 1);
}
