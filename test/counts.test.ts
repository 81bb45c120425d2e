// The one list of run counters (src/counts.ts) and its helpers.
import { describe, expect, it } from "vitest";
import { addCounts, countsOf, RUN_COUNT_KEYS, zeroCounts } from "../src/counts.ts";

describe("run counts", () => {
  it("starts every counter at zero, in the stored order", () => {
    expect(Object.keys(zeroCounts())).toEqual([...RUN_COUNT_KEYS]);
    expect(Object.values(zeroCounts())).toEqual(RUN_COUNT_KEYS.map(() => 0));
  });

  it("adds a partial delta in place", () => {
    const counts = zeroCounts();
    addCounts(counts, { pages: 1, fetched: 30, inserted: 28, unchanged: 2 });
    expect(addCounts(counts, { pages: 2, fetched: 10, updated: 10 })).toBe(counts);
    expect(counts).toEqual({
      pages: 3,
      fetched: 40,
      inserted: 28,
      updated: 10,
      unchanged: 2,
      markedDeleted: 0,
    });
  });

  it("picks the counters out of a larger object", () => {
    const row = { id: 7, kind: "sync", ...zeroCounts(), fetched: 5, markedDeleted: 1, error: null };
    expect(countsOf(row)).toEqual({ ...zeroCounts(), fetched: 5, markedDeleted: 1 });
  });
});
