// The transport's concurrency limiter must never let more than `max` calls run at once — also in
// the instant between a call finishing and the next queued one starting, when a new caller arrives.
import { describe, expect, it } from "vitest";
import { ConcurrencyLimiter } from "../../src/talkjs/ratelimit.ts";

describe("ConcurrencyLimiter", () => {
  it("a caller arriving while a slot is handed over does not jump in beside the woken one", async () => {
    const limiter = new ConcurrencyLimiter(1);
    let active = 0;
    let peak = 0;
    const task = async (): Promise<void> => {
      active++;
      peak = Math.max(peak, active);
      await Promise.resolve();
      active--;
    };
    let release = (): void => {};
    const first = limiter.run(() => new Promise<void>((r) => (release = r)));
    const queued = limiter.run(task);
    release(); // `first` finishes in the next microtask: it frees its slot and wakes `queued` ...
    // ... but this caller's microtask was queued before `queued` wakes: it must not take the slot.
    const late = Promise.resolve().then(() => limiter.run(task));
    await Promise.all([first, queued, late]);
    expect(peak).toBe(1);
  });

  it("many callers with random timing: never more than max at once, and every call runs", async () => {
    const limiter = new ConcurrencyLimiter(3);
    let active = 0;
    let peak = 0;
    let seed = 7;
    const rnd = () => {
      seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    const done: number[] = [];
    const calls: Promise<void>[] = [];
    for (let i = 0; i < 200; i++) {
      const call = (): Promise<void> =>
        limiter.run(async () => {
          active++;
          peak = Math.max(peak, active);
          for (let k = Math.floor(rnd() * 4); k > 0; k--) await Promise.resolve();
          active--;
          done.push(i);
        });
      // Some callers arrive right as others finish (microtask timing), some later.
      calls.push(rnd() < 0.5 ? call() : Promise.resolve().then(call));
    }
    await Promise.all(calls);
    expect(peak).toBe(3);
    expect(done).toHaveLength(200);
  });
});
