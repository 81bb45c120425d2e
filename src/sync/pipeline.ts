// The page pipeline shared by backfill, sync and reconcile: while page N is being written, page
// N+1 is already being fetched, so the time of a page is max(fetch, write) instead of their sum.

/**
 * Writes every page of `pages` in order, fetching at most ONE page ahead of the write in progress
 * (bounded memory, and back-pressure: a slow database holds the pager back instead of letting
 * pages pile up). Writes never overlap and run strictly in listing order, so a checkpoint written
 * with page N covers exactly pages 1..N, as in a sequential loop.
 *
 * Failure order: if the fetch of page N+1 fails while page N is being written, page N still
 * commits (with its checkpoint) before the fetch error surfaces, so a resume starts right after N.
 * If a write fails, the fetch in flight is abandoned (its result or error is dropped) and the
 * pager is closed once that fetch settles.
 */
export async function pipelinePages<T>(
  pages: AsyncIterable<T>,
  write: (page: T) => Promise<void>,
): Promise<void> {
  const iterator = pages[Symbol.asyncIterator]();
  let next = iterator.next();
  for (;;) {
    const result = await next;
    if (result.done) return;
    // Start fetching the next page before writing this one.
    next = iterator.next();
    // Observed now so a fetch failing during the write is not an unhandled rejection; the
    // `await next` above still sees the error once the write has committed.
    next.catch(() => {});
    try {
      await write(result.value);
    } catch (error) {
      // An async generator queues return() behind the pending next(): the pager closes once the
      // fetch in flight settles. Not awaited, so the write's error does not wait for (possibly
      // retried) HTTP; the caller's abort or client close ends that fetch.
      void Promise.resolve(iterator.return?.()).catch(() => {});
      throw error;
    }
  }
}
