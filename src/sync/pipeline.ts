// The page pipeline shared by backfill, sync and reconcile: pages keep being fetched while the
// previous ones are written, so a page costs max(fetch, write) instead of their sum; and when the
// database is the slower side, the pages that arrived meanwhile are written together in ONE
// transaction, which amortises the per-commit cost (an fsync on PostgreSQL, Prisma's interactive
// transaction round trips on both) that dominates pages of 30 (see bench/RESULTS.md).
import type { ConversationPage } from "../talkjs/pagination.ts";

/** Most pages fetched ahead of the write in progress, and most pages written in one transaction. */
export const DEFAULT_MAX_PAGES_AHEAD = 8;

/**
 * Writes every page of `pages` in listing order. A fetcher runs ahead of the writer, holding at
 * most `maxPagesAhead` fetched pages (back-pressure: a slow database holds the pager back); each
 * write takes every page fetched so far (at most `maxPagesAhead`), so with a fast database every
 * page is written as soon as it arrives, and with a slow one writes get bigger and fewer. Writes
 * never overlap and follow listing order, so a checkpoint written with a batch covers exactly the
 * pages committed so far, as in a sequential loop.
 *
 * Failure order: if a fetch fails, the pages fetched before it are still written (with their
 * checkpoint) before the fetch error surfaces, so a resume starts right after them. If a write
 * fails, no later page is written; the fetch in flight is abandoned and the pager is closed once
 * it settles (not awaited: the caller's abort or client close ends that request).
 */
export async function pipelinePages<T>(
  pages: AsyncIterable<T>,
  write: (batch: T[]) => Promise<void>,
  options: { maxPagesAhead?: number } = {},
): Promise<void> {
  const maxPages = Math.max(1, options.maxPagesAhead ?? DEFAULT_MAX_PAGES_AHEAD);
  const iterator = pages[Symbol.asyncIterator]();
  const buffer: T[] = [];
  let fetchDone = false;
  let fetchFailure: { error: unknown } | undefined;
  let stopped = false;
  let wakeWriter: (() => void) | undefined;
  let wakeFetcher: (() => void) | undefined;

  const fetcher = async (): Promise<void> => {
    try {
      while (!stopped) {
        if (buffer.length >= maxPages) {
          await new Promise<void>((resolve) => {
            wakeFetcher = resolve;
          });
          continue;
        }
        const result = await iterator.next();
        if (result.done) break;
        if (stopped) break;
        buffer.push(result.value);
        wakeWriter?.();
      }
      if (stopped) await iterator.return?.();
    } catch (error) {
      fetchFailure = { error };
    } finally {
      fetchDone = true;
      wakeWriter?.();
    }
  };
  void fetcher();

  try {
    for (;;) {
      if (buffer.length === 0) {
        if (fetchDone) break;
        await new Promise<void>((resolve) => {
          wakeWriter = resolve;
        });
        continue;
      }
      const batch = buffer.splice(0, maxPages);
      wakeFetcher?.();
      await write(batch);
    }
  } catch (error) {
    stopped = true;
    wakeFetcher?.();
    throw error;
  }
  if (fetchFailure) throw fetchFailure.error;
}

/** Several consecutive pages as one: the write of a batch, checkpointed at its last cursor. */
export interface PageBatch extends ConversationPage {
  pages: number;
}

export function mergePages(batch: ConversationPage[]): PageBatch {
  const last = batch.at(-1);
  if (!last) throw new Error("mergePages needs at least one page");
  return {
    conversations: batch.length === 1 ? last.conversations : batch.flatMap((p) => p.conversations),
    cursor: last.cursor,
    // The EARLIEST fetch time: the store lets a copy win only over copies fetched before it, so
    // dating a batch by its first page can only make it yield to a newer copy, never overwrite one.
    fetchedAt: Math.min(...batch.map((p) => p.fetchedAt)),
    pages: batch.length,
  };
}
