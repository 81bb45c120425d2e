// Bounded concurrency for the sync engine's fan-outs (confirming deletion candidates, fetching
// message histories).

/**
 * Maps `items` with at most `limit` calls in flight, preserving order. After a failure no new
 * call starts, and the error is thrown only once every call in flight has settled — so nothing
 * is still writing when the caller records the run as failed and releases its lock.
 */
export async function mapLimited<T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T) => Promise<R>,
): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  let failure: { error: unknown } | null = null;
  const worker = async (): Promise<void> => {
    while (failure === null && next < items.length) {
      const i = next++;
      try {
        results[i] = await fn(items[i] as T);
      } catch (error) {
        failure ??= { error };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
  if (failure !== null) throw (failure as { error: unknown }).error;
  return results;
}

export type Settled<R> = { ok: true; value: R } | { ok: false; error: unknown };

/**
 * Like mapLimited, but one call's failure neither stops the others nor is thrown: each result says
 * whether its call succeeded (a batch of independent fetches, where one bad item must not hold
 * back the rest).
 */
export function mapSettled<T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T) => Promise<R>,
): Promise<Settled<R>[]> {
  return mapLimited(items, limit, async (item): Promise<Settled<R>> => {
    try {
      return { ok: true, value: await fn(item) };
    } catch (error) {
      return { ok: false, error };
    }
  });
}
