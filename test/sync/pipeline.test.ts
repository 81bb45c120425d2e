// pipelinePages in isolation: one page ahead at most, writes strictly in order and never
// overlapping, and the failure order that keeps checkpoints right.
import { describe, expect, it } from "vitest";
import { pipelinePages } from "../../src/sync/pipeline.ts";

const tick = () => new Promise<void>((r) => setTimeout(r, 1));

function pager(events: string[], count: number, failAt?: number): AsyncGenerator<number> {
  return (async function* () {
    for (let i = 1; i <= count; i++) {
      events.push(`fetch ${i} start`);
      await tick();
      if (i === failAt) {
        events.push(`fetch ${i} failed`);
        throw new Error(`fetch ${i} failed`);
      }
      events.push(`fetch ${i} end`);
      yield i;
    }
  })();
}

describe("pipelinePages", () => {
  it("overlaps the next fetch with the current write, one page ahead, writes in order", async () => {
    const events: string[] = [];
    let writing = 0;
    await pipelinePages(pager(events, 5), async (page) => {
      expect(writing).toBe(0);
      writing++;
      events.push(`write ${page} start`);
      await tick();
      await tick();
      events.push(`write ${page} end`);
      writing--;
    });
    const at = (e: string) => events.indexOf(e);
    for (let i = 1; i <= 5; i++) expect(at(`write ${i} end`)).toBeGreaterThan(at(`write ${i} start`));
    for (let i = 1; i < 5; i++) {
      // The next fetch starts before this write starts (overlap) ...
      expect(at(`fetch ${i + 1} start`)).toBeLessThan(at(`write ${i} start`));
      // ... and writes follow listing order.
      expect(at(`write ${i + 1} start`)).toBeGreaterThan(at(`write ${i} end`));
    }
    // Never two pages ahead: page i+2 is not fetched before write i has finished.
    for (let i = 1; i <= 3; i++) expect(at(`fetch ${i + 2} start`)).toBeGreaterThan(at(`write ${i} end`));
  });

  it("a fetch failing during a write surfaces only after that write completed", async () => {
    const events: string[] = [];
    const written: number[] = [];
    const run = pipelinePages(pager(events, 5, 3), async (page) => {
      events.push(`write ${page} start`);
      // Hold page 2's write until page 3's fetch has failed.
      while (page === 2 && !events.includes("fetch 3 failed")) await tick();
      written.push(page);
      events.push(`write ${page} end`);
    });
    await expect(run).rejects.toThrow("fetch 3 failed");
    expect(written).toEqual([1, 2]);
    expect(events.indexOf("fetch 3 failed")).toBeLessThan(events.indexOf("write 2 end"));
  });

  it("a failing write stops the pipeline: no later page is written and the pager is closed", async () => {
    const events: string[] = [];
    const source = pager(events, 5);
    const run = pipelinePages(source, async (page) => {
      if (page === 2) throw new Error("database down");
      events.push(`write ${page}`);
    });
    await expect(run).rejects.toThrow("database down");
    await tick();
    await tick();
    expect(events.filter((e) => e.startsWith("write"))).toEqual(["write 1"]);
    // The prefetched page 3 is dropped and nothing beyond it is fetched.
    expect(events).not.toContain("fetch 4 start");
    expect(await source.next()).toEqual({ done: true, value: undefined });
  });
});
