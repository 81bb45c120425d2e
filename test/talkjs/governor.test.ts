// The rate governor on a fake clock: pauses, the shared window, AIMD, the long Retry-After and
// the give-up time — minutes of throttling checked in milliseconds.
import { describe, expect, it } from "vitest";
import {
  acquireGovernor,
  type GovernorOptions,
  RATE_FLOOR,
  RateGovernor,
  releaseGovernor,
} from "../../src/talkjs/governor.ts";

function fake(options: Partial<GovernorOptions> = {}) {
  const clock = { t: 1_000_000, slept: 0 };
  const gov = new RateGovernor({
    perSecond: 8,
    burst: 20,
    giveUpMs: 15 * 60_000,
    now: () => clock.t,
    sleep: async (ms) => {
      clock.t += ms;
      clock.slept += ms;
    },
    random: () => 0,
    ...options,
  });
  return { gov, clock };
}

const URL = "http://x/v1/app/conversations";

describe("RateGovernor", () => {
  it("a 429 pauses every request until Retry-After has passed; in-flight 429s join the same pause", async () => {
    const { gov, clock } = fake();
    const a = await gov.acquire();
    const b = await gov.acquire();
    clock.t += 5;
    gov.on429(a, 2_000, URL);
    clock.t += 3;
    gov.on429(b, 2_000, URL); // sent before the pause opened: joins it (ends 2 s after its own 429)
    expect(gov.stats).toMatchObject({ rateLimited: 2, pauses: 1, currentRate: 4 });
    const start = clock.t;
    const c = await gov.acquire();
    expect(c.sentAt).toBeGreaterThanOrEqual(start + 2_000);
    expect(c.waitedMs).toBeGreaterThanOrEqual(2_000);
    // A 429 right after the pause opens a new pause, but the cut has not had time to show yet.
    gov.on429(c, 100, URL);
    expect(gov.stats).toMatchObject({ rateLimited: 3, pauses: 2, currentRate: 4 });
    // Once the first pause and one step interval after it (its 2 s Retry-After, at most 1 s) have
    // passed, a 429 cuts again.
    const d = await gov.acquire();
    clock.t += 1_000;
    gov.on429(d, 100, URL);
    expect(gov.stats).toMatchObject({ rateLimited: 4, pauses: 3, currentRate: 2 });
  });

  it("after a pause the saved-up burst is not spent at once", async () => {
    const { gov, clock } = fake({ perSecond: 10, burst: 50 });
    const t = await gov.acquire();
    gov.on429(t, 1_000, URL); // rate 5/s
    await gov.acquire(); // the first after the pause waits for a token (none were saved up)
    const before = clock.t;
    for (let i = 0; i < 5; i++) await gov.acquire();
    expect(clock.t - before).toBeGreaterThanOrEqual(900); // 5 requests at 5/s, not a burst
  });

  it("without Retry-After: 1 s, doubling per consecutive 429, capped at 60 s; a success resets it", async () => {
    const { gov, clock } = fake();
    const pauses: number[] = [];
    for (let i = 0; i < 9; i++) {
      const ticket = await gov.acquire();
      const before = gov.stats.pausedMs;
      gov.on429(ticket, undefined, URL);
      await gov.acquire();
      pauses.push((gov.stats.pausedMs - before) / 1000);
    }
    expect(pauses).toEqual([1, 2, 4, 8, 16, 32, 60, 60, 60]);
    gov.onSuccess();
    const ticket = await gov.acquire();
    const before = gov.stats.pausedMs;
    gov.on429(ticket, undefined, URL);
    expect(gov.stats.pausedMs - before).toBe(1_000);
    await gov.acquire();
    expect(clock.t - ticket.sentAt).toBeGreaterThanOrEqual(1_000);
  });

  it("AIMD: halved once per pause window down to 0.5/s; sustained success climbs back to the ceiling", async () => {
    const { gov, clock } = fake({ perSecond: 40 });
    for (let i = 0; i < 10; i++) gov.on429(await gov.acquire(), 10, URL);
    expect(gov.stats.currentRate).toBe(RATE_FLOOR);
    let steps = 0;
    while (gov.stats.currentRate < 40 && steps < 10_000) {
      await gov.acquire();
      gov.onSuccess();
      steps++;
    }
    expect(gov.stats.currentRate).toBe(40);
    expect(clock.t).toBeGreaterThan(0);
  });

  it("a long Retry-After (9 min) is waited out in full; over 10 min ends the run naming it", async () => {
    const { gov, clock } = fake();
    gov.on429(await gov.acquire(), 9 * 60_000, URL);
    const before = clock.t;
    await gov.acquire();
    expect(clock.t - before).toBeGreaterThanOrEqual(9 * 60_000);
    const err = (() => {
      try {
        gov.on429({ sentAt: clock.t, waitedMs: 0 }, 11 * 60_000, URL);
      } catch (e) {
        return e as { code: string; message: string };
      }
      return null;
    })();
    expect(err?.code).toBe("TALKJS_RETRY_AFTER_TOO_LONG");
    expect(err?.message).toMatch(/wait 660 s \(Retry-After\).*more than the 10 min/);
  });

  it("continuous 429s end the run only after the give-up time, with an error that says so", async () => {
    const { gov, clock } = fake();
    const start = clock.t;
    let error: { code: string; message: string } | null = null;
    for (let i = 0; i < 1_000 && error === null; i++) {
      const ticket = await gov.acquire();
      try {
        gov.on429(ticket, 30_000, URL);
      } catch (e) {
        error = e as { code: string; message: string };
      }
    }
    expect(error?.code).toBe("TALKJS_THROTTLED");
    expect(error?.message).toMatch(
      /kept answering 429 .* for 8\d\d s .*give-up time \(throttleGiveUpMs = 900000 ms\)/,
    );
    expect(clock.t - start).toBeGreaterThan(14 * 60_000);
    expect(clock.t - start).toBeLessThanOrEqual(15 * 60_000);
  });

  it("a success between 429s restarts the give-up clock", async () => {
    const { gov, clock } = fake({ giveUpMs: 10_000 });
    for (let i = 0; i < 20; i++) {
      gov.on429(await gov.acquire(), 3_000, URL);
      await gov.acquire();
      gov.onSuccess();
    }
    expect(clock.slept).toBeGreaterThan(60_000);
  });

  it("one governor per app in the process, shared until its last user releases it", () => {
    const o = { perSecond: 8, burst: 20, giveUpMs: 1_000 };
    const a = acquireGovernor("http://h app1", o);
    const b = acquireGovernor("http://h app1", { ...o, perSecond: 99 });
    const other = acquireGovernor("http://h app2", o);
    expect(b).toBe(a);
    expect(other).not.toBe(a);
    releaseGovernor("http://h app1", a);
    expect(acquireGovernor("http://h app1", o)).toBe(a);
    releaseGovernor("http://h app1", a);
    releaseGovernor("http://h app1", a);
    expect(acquireGovernor("http://h app1", o)).not.toBe(a);
  });
});
