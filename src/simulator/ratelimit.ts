// The server-side rate limit: a token bucket on the real clock (not the simulator's data clock:
// throttling is about when requests arrive). Past it a request gets 429 with Retry-After.
import type { SimulatorOptions } from "./types.ts";

export type RateLimit = NonNullable<SimulatorOptions["rateLimit"]>;

export class TokenBucket {
  private tokens = 0;
  private at = 0;

  constructor(
    private limit: RateLimit | null,
    private readonly clock: () => number = Date.now,
  ) {
    this.refill();
  }

  /** Replaces the limit (null: off) and starts from a full bucket. */
  configure(limit: RateLimit | null): void {
    this.limit = limit;
    this.refill();
  }

  /** A full bucket from now on: `burst` requests may go at once. */
  refill(): void {
    this.tokens = this.limit?.burst ?? 0;
    this.at = this.clock();
  }

  /** Takes a token for one request; returns null when it may go, else the Retry-After seconds. */
  take(): number | null {
    const rl = this.limit;
    if (!rl) return null;
    const t = this.clock();
    this.tokens = Math.min(rl.burst, this.tokens + ((t - this.at) / 1000) * rl.perSecond);
    this.at = t;
    if (this.tokens >= 1) {
      this.tokens -= 1;
      return null;
    }
    return rl.retryAfterSeconds ?? Math.max(1, Math.ceil((1 - this.tokens) / rl.perSecond));
  }
}
