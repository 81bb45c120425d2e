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
  maxConcurrency: 4,
  pageSize: 30,
} as const;

/** Offset and ordering need at least this REST version. */
export const MIN_REST_VERSION = "2021-02-09";

function positiveInt(setting: string, value: number): number {
  if (!Number.isFinite(value) || value <= 0 || !Number.isInteger(value)) {
    throw new ConfigError(setting, `must be a positive integer, got ${String(value)}`);
  }
  return value;
}

function positive(setting: string, value: number): number {
  if (!Number.isFinite(value) || value <= 0)
    throw new ConfigError(setting, `must be a positive number, got ${String(value)}`);
  return value;
}

export function resolveClientOptions(o: TalkJSClientOptions): ResolvedClientOptions {
  const d = TALKJS_CLIENT_DEFAULTS;
  if (!o.appId) throw new ConfigError("TALKJS_APP_ID", "is required");
  if (!o.secretKey) throw new ConfigError("TALKJS_SECRET_KEY", "is required");
  const baseUrl = (o.baseUrl ?? d.baseUrl).replace(/\/+$/, "");
  try {
    const u = new URL(baseUrl);
    if (u.protocol !== "http:" && u.protocol !== "https:") throw new Error("protocol");
  } catch {
    throw new ConfigError("TALKJS_API_URL", `must be an http(s) URL, got ${JSON.stringify(baseUrl)}`);
  }
  const authMode = o.authMode ?? d.authMode;
  if (authMode !== "jwt" && authMode !== "secret-key") {
    throw new ConfigError(
      "TALKJS_AUTH_MODE",
      `must be "jwt" or "secret-key", got ${JSON.stringify(authMode)}`,
    );
  }
  const restVersion = o.restVersion ?? d.restVersion;
  if (!/^\d{4}-\d{2}-\d{2}$/.test(restVersion) || restVersion < MIN_REST_VERSION) {
    throw new ConfigError(
      "TALKJS_REST_VERSION",
      `must be a date YYYY-MM-DD ≥ ${MIN_REST_VERSION}, got ${JSON.stringify(restVersion)}`,
    );
  }
  const retry: RetryOptions = { ...d.retry, ...o.retry };
  positiveInt("TALKJS_RETRY_MAX_ATTEMPTS", retry.maxAttempts);
  positive("TALKJS_RETRY_MAX_TOTAL_MS", retry.maxTotalMs);
  if (retry.minDelayMs < 0 || retry.maxDelayMs < retry.minDelayMs) {
    throw new ConfigError("retry", "need 0 ≤ minDelayMs ≤ maxDelayMs");
  }
  const rateLimit: RateLimitOptions = { ...d.rateLimit, ...o.rateLimit };
  positive("TALKJS_RATE_LIMIT_PER_SECOND", rateLimit.perSecond);
  positiveInt("TALKJS_RATE_LIMIT_BURST", rateLimit.burst);
  return {
    appId: o.appId,
    secretKey: o.secretKey,
    baseUrl,
    authMode,
    restVersion,
    connections: positiveInt("TALKJS_CONNECTIONS", o.connections ?? d.connections),
    headersTimeoutMs: positiveInt("TALKJS_HEADERS_TIMEOUT_MS", o.headersTimeoutMs ?? d.headersTimeoutMs),
    bodyTimeoutMs: positiveInt("TALKJS_BODY_TIMEOUT_MS", o.bodyTimeoutMs ?? d.bodyTimeoutMs),
    retry,
    rateLimit,
    maxConcurrency: positiveInt("TALKJS_MAX_CONCURRENCY", o.maxConcurrency ?? d.maxConcurrency),
    pageSize: positiveInt("TALKJS_PAGE_SIZE", o.pageSize ?? d.pageSize),
    logger: o.logger,
    signal: o.signal,
    userAgentExtra: o.userAgentExtra,
  };
}
