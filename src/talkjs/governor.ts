// The rate governor: one per app and process, shared by every request to that app. TalkJS limits
// an app, not a connection, so pacing per caller would let the callers together overrun the limit,
// and a 429 seen by one caller says the whole app is throttled. The governor therefore
//  - paces every request with one token bucket at the current rate (≤ the configured ceiling);
//  - on a 429 pauses ALL requests until Retry-After has passed (plus jitter). Requests that were
//    already in flight and come back 429 join that pause instead of opening a new one;
//  - adapts the rate (AIMD): halved (floor 0.5/s) at most once per pause window, raised again in
//    steps while requests succeed — quickly back to 90% of the rate that was refused, then slowly
//    above it — so a server limit below the ceiling is found and held with few 429s. The step
//    interval follows the server's own time scale (its Retry-After, between 10 ms and 1 s);
//  - treats throttling as pacing, not failure: only continuous throttling for `giveUpMs`, or a
//    Retry-After beyond `maxRetryAfterMs`, ends the run — each with its own error.
import { TalkJSApiError } from "./errors.ts";
import { type Clock, sleep as realSleep } from "./ratelimit.ts";

export interface GovernorOptions {
  /** The ceiling: the configured requests per second. */
  perSecond: number;
  burst: number;
  /** Continuous throttling (no success in between) this long ends the run. */
  giveUpMs: number;
  /** A Retry-After longer than this ends the run (default 10 min). */
  maxRetryAfterMs?: number;
  /** Pause after a 429 without Retry-After; doubled per consecutive 429 (default 1 s). */
  basePauseMs?: number;
  /** Longest pause for a 429 without Retry-After (default 60 s). */
  maxPauseMs?: number;
  /** Longest interval between two raises of the rate (default 1 s; shorter after short pauses). */
  increaseEveryMs?: number;
  now?: Clock;
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  random?: () => number;
}

export interface GovernorStats {
  /** 429 answers seen. */
  rateLimited: number;
  /** Pause windows opened (a 429 that did not join a pause already running). */
  pauses: number;
  /** Total time all requests were held by pauses, ms (wall time, counted once per pause). */
  pausedMs: number;
  /** The requests per second the governor paces at now. */
  currentRate: number;
}

/** Most rate steps one success may take (after a long quiet spell). */
const MAX_STEPS = 10;
/** Requests whose send times measure the pace actually sent. */
const SENT_WINDOW = 32;
/** Lowest rate the adaptive cut goes down to (requests/s). */
export const RATE_FLOOR = 0.5;
export const DEFAULT_MAX_RETRY_AFTER_MS = 10 * 60_000;
export const DEFAULT_THROTTLE_GIVE_UP_MS = 15 * 60_000;

/** What `acquire` hands back: when the request was let go, and how long it was held. */
export interface Ticket {
  sentAt: number;
  waitedMs: number;
}

export class RateGovernor {
  private readonly ceiling: number;
  private readonly burst: number;
  private readonly giveUpMs: number;
  private readonly maxRetryAfterMs: number;
  private readonly basePauseMs: number;
  private readonly maxPauseMs: number;
  private readonly increaseEveryMs: number;
  private readonly now: Clock;
  private readonly sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
  private readonly random: () => number;

  private rate: number;
  private tokens: number;
  private refilledAt: number;
  /** Requests wait until this time (0: no pause). */
  private pausedUntil = 0;
  /** When the current (or last) pause window opened; a 429 of a request sent before it joins it. */
  private windowOpenedAt = Number.NEGATIVE_INFINITY;
  private consecutive = 0;
  /** First 429 since the last success: the start of continuous throttling (null: not throttled). */
  private throttledSince: number | null = null;
  /** Last rate change (cut or raise): raises need `recoverMs` of success after it. */
  private changedAt: number;
  /** Interval between raises: the last pause's length, within 10 ms … increaseEveryMs. */
  private recoverMs: number;
  /** The rate the server last refused: fast steps up to 90% of it, slow ones beyond. */
  private refusedRate: number;
  /** A new 429 cuts the rate only from here on: the previous cut has had time to show. */
  private cutAllowedAt = Number.NEGATIVE_INFINITY;
  /** When the last requests were let go (a ring): the pace actually sent, which may be far below
   * the ceiling (latency, concurrency) — halving the ceiling would not slow anything down. */
  private readonly sent: number[] = [];
  private sentNext = 0;
  readonly stats: GovernorStats;

  constructor(o: GovernorOptions) {
    this.ceiling = o.perSecond;
    this.burst = o.burst;
    this.giveUpMs = o.giveUpMs;
    this.maxRetryAfterMs = o.maxRetryAfterMs ?? DEFAULT_MAX_RETRY_AFTER_MS;
    this.basePauseMs = o.basePauseMs ?? 1_000;
    this.maxPauseMs = o.maxPauseMs ?? 60_000;
    this.increaseEveryMs = o.increaseEveryMs ?? 1_000;
    this.now = o.now ?? Date.now;
    this.sleep = o.sleep ?? realSleep;
    this.random = o.random ?? Math.random;
    this.rate = o.perSecond;
    this.recoverMs = this.increaseEveryMs;
    this.refusedRate = o.perSecond;
    this.tokens = o.burst;
    this.refilledAt = this.now();
    this.changedAt = this.refilledAt;
    this.stats = { rateLimited: 0, pauses: 0, pausedMs: 0, currentRate: this.rate };
  }

  /** Waits for the end of any pause and for a token; returns when the request may be sent. */
  async acquire(signal?: AbortSignal): Promise<Ticket> {
    const started = this.now();
    for (;;) {
      const t = this.now();
      if (t < this.pausedUntil) {
        await this.sleep(this.pausedUntil - t, signal);
        continue;
      }
      this.refill(t);
      if (this.tokens >= 1) {
        this.tokens -= 1;
        this.sent[this.sentNext] = t;
        this.sentNext = (this.sentNext + 1) % SENT_WINDOW;
        return { sentAt: t, waitedMs: t - started };
      }
      await this.sleep(Math.max(1, Math.ceil(((1 - this.tokens) * 1000) / this.rate)), signal);
    }
  }

  /** Requests per second actually sent over the last SENT_WINDOW requests (undefined: too few). */
  private sentRate(): number | undefined {
    if (this.sent.length < SENT_WINDOW) return undefined;
    const oldest = this.sent[this.sentNext] as number;
    const newest = this.sent[(this.sentNext + SENT_WINDOW - 1) % SENT_WINDOW] as number;
    return newest > oldest ? ((SENT_WINDOW - 1) * 1000) / (newest - oldest) : undefined;
  }

  private refill(t: number): void {
    const elapsed = Math.max(0, t - this.refilledAt);
    this.tokens = Math.min(this.burst, this.tokens + (elapsed * this.rate) / 1000);
    this.refilledAt = t;
  }

  /** A request got a non-429 answer: throttling is over; sustained success raises the rate. */
  onSuccess(): void {
    const t = this.now();
    this.consecutive = 0;
    this.throttledSince = null;
    if (this.rate < this.ceiling && t - this.changedAt >= this.recoverMs && t >= this.pausedUntil) {
      this.refill(t);
      // One step per interval that passed without a 429 (a slow pace sees few successes), at most
      // MAX_STEPS at once: a long quiet spell says little about a much higher pace.
      const steps = Math.min(MAX_STEPS, Math.floor((t - this.changedAt) / this.recoverMs));
      for (let i = 0; i < steps; i++) {
        const near = this.rate >= 0.85 * this.refusedRate;
        this.rate += Math.max(RATE_FLOOR / 5, this.refusedRate * (near ? 0.005 : 0.1));
      }
      this.rate = Math.min(this.ceiling, this.rate);
      this.stats.currentRate = this.rate;
      this.changedAt = t;
    }
  }

  /**
   * A request sent at `ticket.sentAt` came back 429. Opens a pause window (or joins the one
   * running) and cuts the rate once per window. Throws when the run must end: a Retry-After
   * over the maximum, or throttling without a success for `giveUpMs`.
   */
  on429(ticket: Ticket, retryAfterMs: number | undefined, url: string): void {
    const t = this.now();
    this.stats.rateLimited++;
    this.throttledSince ??= t;
    if (retryAfterMs !== undefined && retryAfterMs > this.maxRetryAfterMs) {
      throw new TalkJSApiError(
        "TALKJS_RETRY_AFTER_TOO_LONG",
        `TalkJS asked to wait ${Math.ceil(retryAfterMs / 1000)} s (Retry-After) before the next request, more than the ${Math.round(this.maxRetryAfterMs / 60_000)} min this run waits: ${url}`,
        { status: 429, url },
      );
    }
    // A request sent before the current window opened was in flight when it did: it joins it.
    const joins = ticket.sentAt <= this.windowOpenedAt;
    if (!joins) this.consecutive++;
    const wait =
      retryAfterMs ?? Math.min(this.maxPauseMs, this.basePauseMs * 2 ** Math.max(0, this.consecutive - 1));
    // Jitter: replicas and processes sharing the app do not all come back in the same millisecond.
    const until = t + wait + Math.round(this.random() * Math.min(1_000, wait / 10));
    if (!joins) {
      this.windowOpenedAt = t;
      this.stats.pauses++;
      this.recoverMs = Math.min(this.increaseEveryMs, Math.max(10, wait));
      // Once per pause window: until the pause and one step interval after it have passed, more
      // 429s are the same overload still draining, not a sign the new rate is too high.
      if (t >= this.cutAllowedAt) {
        this.refusedRate = Math.min(this.rate, this.sentRate() ?? this.rate);
        this.rate = Math.max(RATE_FLOOR, this.refusedRate / 2);
        this.stats.currentRate = this.rate;
        this.cutAllowedAt = until + this.recoverMs;
      }
      this.changedAt = until;
    }
    if (t + wait - this.throttledSince > this.giveUpMs) {
      throw new TalkJSApiError(
        "TALKJS_THROTTLED",
        `TalkJS kept answering 429 (rate limited) for ${Math.round((t - this.throttledSince) / 1000)} s without a successful request, and the throttling give-up time (throttleGiveUpMs = ${this.giveUpMs} ms) would pass before the next try: ${url}`,
        { status: 429, url },
      );
    }
    if (until > this.pausedUntil) {
      this.stats.pausedMs += until - Math.max(t, this.pausedUntil);
      this.pausedUntil = until;
    }
    // Nothing saved up during a pause is spent in one go when it ends.
    this.tokens = 0;
    this.refilledAt = Math.max(this.refilledAt, until);
  }
}

interface Registered {
  governor: RateGovernor;
  users: number;
}

const registry = new Map<string, Registered>();

/**
 * The governor of one app (`key`: base URL + app id) in this process, created by its first user
 * with that user's options; every later client of the same app shares it. Release when closing.
 */
export function acquireGovernor(key: string, options: GovernorOptions): RateGovernor {
  let entry = registry.get(key);
  if (!entry) {
    entry = { governor: new RateGovernor(options), users: 0 };
    registry.set(key, entry);
  }
  entry.users++;
  return entry.governor;
}

export function releaseGovernor(key: string, governor: RateGovernor): void {
  const entry = registry.get(key);
  if (!entry || entry.governor !== governor) return;
  entry.users--;
  if (entry.users <= 0) registry.delete(key);
}
