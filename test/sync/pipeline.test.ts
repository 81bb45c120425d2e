// pipelinePages in isolation: fetches overlap writes, at most `maxPagesAhead` pages are buffered,
// writes are strictly in order and never overlap, pages that arrive during a slow write are
// written together, and the failure order that keeps checkpoints right.
import { describe, expect, it } from "vitest";
import { mergePages, pipelinePages } from "../../src/sync/pipeline.ts";

const tick = (ms = 1) => new Promise<void>((r) => setTimeout(r, ms));

function pager(
  events: string[],
  count: number,
  opts: { failAt?: number; gate?: (page: number) => Promise<void> } = {},
) {
  return (async function* () {
    for (let i = 1; i <= count; i++) {
      events.push(`fetch ${i} start`);
      await tick();
      await opts.gate?.(i);
      if (i === opts.failAt) {
        events.push(`fetch ${i} failed`);
        throw new Error(`fetch ${i} failed`);
      }
      events.push(`fetch ${i} end`);
      yield i;
    }
  })();
}

describe("pipelinePages", () => {
  it("fast database: every page is written alone, while the next one is being fetched", async () => {
    const events: string[] = [];
    const batches: number[][] = [];
    // Each page arrives only once the previous write is done: the database is never the slow side.
    const gate = async (page: number) => {
      while (page > 1 && !events.includes(`write ${page - 1} end`)) await tick();
    };
    await pipelinePages(pager(events, 5, { gate }), async (batch) => {
      batches.push(batch);
      events.push(`write ${batch.join(",")} start`);
      await tick();
      events.push(`write ${batch.join(",")} end`);
    });
    expect(batches).toEqual([[1], [2], [3], [4], [5]]);
    const at = (e: string) => events.indexOf(e);
    // The next fetch is under way before this page's write starts (overlap).
    for (let i = 1; i < 5; i++) expect(at(`fetch ${i + 1} start`)).toBeLessThan(at(`write ${i} start`));
  });

  it("slow database: pages that arrive meanwhile are written together, in order, bounded", async () => {
    const events: string[] = [];
    const batches: number[][] = [];
    let writing = 0;
    let written = 0;
    let maxAhead = 0;
    const source = (async function* () {
      for (let i = 1; i <= 40; i++) {
        // Fetched but not yet committed, counting the one about to be fetched.
        maxAhead = Math.max(maxAhead, i - written);
        events.push(`fetch ${i}`);
        await tick();
        yield i;
      }
    })();
    await pipelinePages(
      source,
      async (batch) => {
        expect(writing).toBe(0);
        writing++;
        batches.push(batch);
        await tick(12);
        written += batch.length;
        writing--;
      },
      { maxPagesAhead: 4 },
    );
    expect(batches.flat()).toEqual(Array.from({ length: 40 }, (_, i) => i + 1));
    expect(batches.some((b) => b.length > 1)).toBe(true);
    expect(Math.max(...batches.map((b) => b.length))).toBeLessThanOrEqual(4);
    // At most 4 buffered + 4 being written + the one in flight.
    expect(maxAhead).toBeLessThanOrEqual(9);
  });

  it("a fetch failing during a write surfaces only after every page fetched before it is written", async () => {
    const events: string[] = [];
    const written: number[] = [];
    const run = pipelinePages(pager(events, 8, { failAt: 4 }), async (batch) => {
      events.push(`write ${batch.join(",")} start`);
      // Hold the first write until page 4's fetch has failed.
      while (batch.includes(1) && !events.includes("fetch 4 failed")) await tick();
      written.push(...batch);
      events.push(`write ${batch.join(",")} end`);
    });
    await expect(run).rejects.toThrow("fetch 4 failed");
    expect(written).toEqual([1, 2, 3]);
    expect(events.indexOf("fetch 4 failed")).toBeLessThan(events.indexOf("write 1 end"));
  });

  it("a failing write stops the pipeline: no later page is written and the pager is closed", async () => {
    const events: string[] = [];
    const source = pager(events, 50);
    const written: number[] = [];
    const run = pipelinePages(
      source,
      async (batch) => {
        if (batch.includes(2)) throw new Error("database down");
        written.push(...batch);
        await tick(5);
      },
      { maxPagesAhead: 2 },
    );
    await expect(run).rejects.toThrow("database down");
    await tick(10);
    expect(written).toEqual([1]);
    const fetched = events.filter((e) => e.endsWith("start")).length;
    expect(fetched).toBeLessThanOrEqual(6);
    expect(await source.next()).toEqual({ done: true, value: undefined });
  });

  it("mergePages: one write for the batch, checkpointed at its last cursor, dated by its first fetch", () => {
    const page = (n: number, fetchedAt: number) => ({
      conversations: [{ id: `c${n}` }] as never[],
      cursor: { ts: n, idsAtTs: [`c${n}`] },
      fetchedAt,
    });
    const merged = mergePages([page(1, 300), page(2, 100), page(3, 200)]);
    expect(merged.pages).toBe(3);
    expect(merged.conversations).toHaveLength(3);
    expect(merged.cursor).toEqual({ ts: 3, idsAtTs: ["c3"] });
    expect(merged.fetchedAt).toBe(100);
  });
});
