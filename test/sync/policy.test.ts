import { describe, expect, it } from "vitest";
import { decideSweep, nextWatermark } from "../../src/sync/policy.ts";

describe("nextWatermark", () => {
  it("starts from the run's start minus the clock-skew margin", () => {
    expect(nextWatermark(null, 1_000_000, 60_000)).toBe(940_000);
  });

  it("never moves backwards", () => {
    expect(nextWatermark(990_000, 1_000_000, 60_000)).toBe(990_000);
    expect(nextWatermark(900_000, 1_000_000, 60_000)).toBe(940_000);
  });
});

describe("decideSweep", () => {
  const base = {
    listingComplete: true,
    liveCount: 1000,
    confirmedMissing: 5,
    maxDeleteShare: 0.1,
    allowMassDelete: false,
  };

  it("marks confirmed deletions after a complete listing", () => {
    expect(decideSweep(base)).toEqual({ mark: true });
  });

  it("refuses anything after an incomplete listing, even with --allow-mass-delete", () => {
    const decision = decideSweep({ ...base, listingComplete: false, allowMassDelete: true });
    expect(decision).toMatchObject({ mark: false, code: "LISTING_INCOMPLETE" });
  });

  it("refuses to mark more than the allowed share and says how to override", () => {
    const decision = decideSweep({ ...base, confirmedMissing: 101 });
    expect(decision).toMatchObject({ mark: false, code: "MASS_DELETE_REFUSED" });
    if (!decision.mark) expect(decision.reason).toMatch(/101 of 1000.*10\.1%.*10%.*--allow-mass-delete/);
  });

  it("allows exactly the configured share", () => {
    expect(decideSweep({ ...base, confirmedMissing: 100 })).toEqual({ mark: true });
  });

  it("lets the operator override the share limit", () => {
    expect(decideSweep({ ...base, confirmedMissing: 900, allowMassDelete: true })).toEqual({ mark: true });
  });

  it("treats an empty mirror's deletions as a 100% share", () => {
    expect(decideSweep({ ...base, liveCount: 0, confirmedMissing: 1 })).toMatchObject({ mark: false });
    expect(decideSweep({ ...base, liveCount: 0, confirmedMissing: 0 })).toEqual({ mark: true });
  });
});
