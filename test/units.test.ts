// The formatters every human-readable output shares (src/units.ts).
import { describe, expect, it } from "vitest";
import { count, duration, perSecond, stopwatch } from "../src/units.ts";

describe("units", () => {
  it("counts with thousands separators whatever the locale", () => {
    expect([0, 999, 1_000, 1_234_567].map(count)).toEqual(["0", "999", "1,000", "1,234,567"]);
  });

  it("rounds a duration to one unit, each used up to twice the next", () => {
    const s = 1000;
    expect(
      [0, 400, 119 * s, 120 * s, 119 * 60 * s, 2 * 3600 * s, 47 * 3600 * s, 48 * 3600 * s].map((ms) =>
        duration(ms),
      ),
    ).toEqual(["0 s", "0 s", "119 s", "2 min", "119 min", "2 h", "47 h", "2 days"]);
  });

  it("gives a run's exact duration in tenths of a second, then two units", () => {
    const exact = (ms: number) => duration(ms, "exact");
    expect([0, 6_540, 59_949, 60_000, 201_000, 119 * 60_000 + 59_000, 9_060_000].map(exact)).toEqual([
      "0.0 s",
      "6.5 s",
      "59.9 s",
      "1 min 0 s",
      "3 min 21 s",
      "119 min 59 s",
      "2 h 31 min",
    ]);
  });

  it("shows elapsed time as a stopwatch", () => {
    expect([0, 65_000, 3_725_000].map(stopwatch)).toEqual(["0:00", "1:05", "1:02:05"]);
  });

  it("computes a rate per second, the count itself when no time passed", () => {
    expect(perSecond(100, 2_000)).toBe(50);
    expect(perSecond(7, 3_000)).toBe(2);
    expect(perSecond(12, 0)).toBe(12);
  });
});
