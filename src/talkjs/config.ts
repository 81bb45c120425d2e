import type { Logger } from "pino";
import { ConfigError } from "../errors.ts";

export type AuthMode = "jwt" | "secret-key";

export interface RetryOptions {
  maxAttempts: number;
  maxTotalMs: number;
  minDelayMs: number;
  maxDelayMs: number;
  /** How many times a malformed 200 is retried (proxy/truncation glitch) before failing. */
  malformedRetries: number;
}

export interface RateLimitOptions {
  perSecond: number;
  burst: number;
}

export interface TalkJSClientOptions {
  appId: string;
  secretKey: string;
  baseUrl?: string;
  authMode?: AuthMode;
  restVersion?: string;
  connections?: number;
  headersTimeoutMs?: number;
  bodyTimeoutMs?: number;
  retry?: Partial<RetryOptions>;
  rateLimit?: Partial<RateLimitOptions>;
  /** Continuous throttling (429s without a success in between) this long ends the run. */
  throttleGiveUpMs?: number;
  maxConcurrency?: number;
  pageSize?: number;
  logger?: Logger;
  signal?: AbortSignal;
  userAgentExtra?: string;
}

export interface ResolvedClientOptions
  extends Required<
    Omit<TalkJSClientOptions, "logger" | "signal" | "userAgentExtra" | "retry" | "rateLimit">
  > {
  retry: RetryOptions;
  rateLimit: RateLimitOptions;
  logger: Logger | undefined;
  signal: AbortSignal | undefined;
  userAgentExtra: string | undefined;
}

/** Defaults, exported so the CLI and docs can show them. */
export const TALKJS_CLIENT_DEFAULTS = {
  baseUrl: "https://api.talkjs.com",
  authMode: "jwt" as AuthMode,
  restVersion: "2021-07-30",
  connections: 4,
  headersTimeoutMs: 30_000,
  bodyTimeoutMs: 30_000,
  retry: { maxAttempts: 6, maxTotalMs: 120_000, minDelayMs: 250, maxDelayMs: 30_000, malformedRetries: 2 },
  // Below TalkJS's reported 9 requests/s sustained.
  rateLimit: { perSecond: 8, burst: 20 },
  throttleGiveUpMs: 15 * 60_000,
  maxConcurrency: 4,
  pageSize: 30,
} as const;

/** Offset and ordering need at least this REST version. */
export const MIN_REST_VERSION = "2021-02-09";

// Errors name the client's options ("rateLimit.perSecond"): the client is a library and does not
// know where its options came from. The config layer (src/config) says them again under the
// setting that sets each option, e.g. TALKJS_RATE_LIMIT_PER_SECOND.

function positiveInt(option: string, value: number): number {
  if (!Number.isFinite(value) || value <= 0 || !Number.isInteger(value)) {
    throw new ConfigError(option, `must be a positive integer, got ${String(value)}`);
  }
  return value;
}

function positive(option: string, value: number): number {
  if (!Number.isFinite(value) || value <= 0)
    throw new ConfigError(option, `must be a positive number, got ${String(value)}`);
  return value;
}

/** Validates the options and fills in the defaults; a bad option is a ConfigError naming it. */
export function resolveClientOptions(o: TalkJSClientOptions): ResolvedClientOptions {
  const d = TALKJS_CLIENT_DEFAULTS;
  if (!o.appId) throw new ConfigError("appId", "is required");
  if (!o.secretKey) throw new ConfigError("secretKey", "is required");
  const baseUrl = (o.baseUrl ?? d.baseUrl).replace(/\/+$/, "");
  try {
    const u = new URL(baseUrl);
    if (u.protocol !== "http:" && u.protocol !== "https:") throw new Error("protocol");
  } catch {
    throw new ConfigError("baseUrl", `must be an http(s) URL, got ${JSON.stringify(baseUrl)}`);
  }
  const authMode = o.authMode ?? d.authMode;
  if (authMode !== "jwt" && authMode !== "secret-key") {
    throw new ConfigError("authMode", `must be "jwt" or "secret-key", got ${JSON.stringify(authMode)}`);
  }
  const restVersion = o.restVersion ?? d.restVersion;
  if (!/^\d{4}-\d{2}-\d{2}$/.test(restVersion) || restVersion < MIN_REST_VERSION) {
    throw new ConfigError(
      "restVersion",
      `must be a date YYYY-MM-DD ≥ ${MIN_REST_VERSION}, got ${JSON.stringify(restVersion)}`,
    );
  }
  const retry: RetryOptions = { ...d.retry, ...o.retry };
  positiveInt("retry.maxAttempts", retry.maxAttempts);
  positive("retry.maxTotalMs", retry.maxTotalMs);
  if (retry.minDelayMs < 0 || retry.maxDelayMs < retry.minDelayMs) {
    throw new ConfigError("retry.minDelayMs", "need 0 ≤ retry.minDelayMs ≤ retry.maxDelayMs");
  }
  const rateLimit: RateLimitOptions = { ...d.rateLimit, ...o.rateLimit };
  positive("rateLimit.perSecond", rateLimit.perSecond);
  positiveInt("rateLimit.burst", rateLimit.burst);
  return {
    appId: o.appId,
    secretKey: o.secretKey,
    baseUrl,
    authMode,
    restVersion,
    connections: positiveInt("connections", o.connections ?? d.connections),
    headersTimeoutMs: positiveInt("headersTimeoutMs", o.headersTimeoutMs ?? d.headersTimeoutMs),
    bodyTimeoutMs: positiveInt("bodyTimeoutMs", o.bodyTimeoutMs ?? d.bodyTimeoutMs),
    retry,
    rateLimit,
    throttleGiveUpMs: positiveInt("throttleGiveUpMs", o.throttleGiveUpMs ?? d.throttleGiveUpMs),
    maxConcurrency: positiveInt("maxConcurrency", o.maxConcurrency ?? d.maxConcurrency),
    pageSize: positiveInt("pageSize", o.pageSize ?? d.pageSize),
    logger: o.logger,
    signal: o.signal,
    userAgentExtra: o.userAgentExtra,
  };
}
