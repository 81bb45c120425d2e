import { Readable } from "node:stream";
import pRetry from "p-retry";
import type { Logger } from "pino";
import { Pool } from "undici";
import type * as v from "valibot";
import { redactSecrets, scrubUrl } from "../redact.ts";
import { VERSION } from "../version.ts";
import { TokenProvider } from "./auth.ts";
import type { ResolvedClientOptions } from "./config.ts";
import { isRetryable, TalkJSApiError } from "./errors.ts";
import { acquireGovernor, type RateGovernor, releaseGovernor, type Ticket } from "./governor.ts";
import { ConcurrencyLimiter, parseRetryAfter, sleep } from "./ratelimit.ts";
import { check } from "./validate.ts";

export interface ClientStats {
  requests: number;
  retries: number;
  /** 429 answers for this app in this process (shared by every client of the app). */
  rateLimited: number;
  /** Time every request of the app was held by 429 pauses, ms. */
  pausedMs: number;
  /** Requests per second the app's governor paces at now (the ceiling until a 429 cuts it). */
  currentRate: number;
  byStatus: Record<string, number>;
}

export interface RequestSpec {
  method: "GET" | "PUT" | "DELETE" | "POST";
  /** Path below the base URL, already encoded, e.g. /v1/app/conversations/x%2Fy */
  path: string;
  query?: Record<string, string | number | undefined>;
  body?: unknown;
  /**
   * A body streamed as is with its own Content-Type and length (a file upload's multipart form)
   * instead of JSON; `open` is called once per attempt, so a retry sends it whole again.
   */
  rawBody?: { contentType: string; length: number; open: () => AsyncIterable<Uint8Array> };
  schema?: v.GenericSchema;
  /** Statuses returned as `{status, json: undefined}` instead of thrown (e.g. 404 on get). */
  allowStatus?: number[];
  signal?: AbortSignal;
  /**
   * false: a failure is never retried here (a 429 still is: it was not applied). For writes that
   * are not idempotent (message import): after a timeout or reset the request may have been
   * applied, and only the caller can find out (by reading the target back) before sending again.
   */
  retry?: false;
}

export interface HttpResult {
  status: number;
  json: unknown;
}

const EXCERPT = 200;

/** The error code of a failed request (undici's own, or the socket's/TLS layer's under `cause`). */
function errorCode(e: unknown): string {
  // undici's parser error carries no code: the bytes that came back were not an HTTP response.
  if ((e as Error | null)?.name === "HTTPParserError") return "HTTPParserError";
  for (let x: unknown = e, depth = 0; x && typeof x === "object" && depth < 3; depth++) {
    const code = (x as { code?: unknown }).code;
    if (typeof code === "string" && code !== "UND_ERR_SOCKET") return code;
    x = (x as { cause?: unknown }).cause;
  }
  const code = (e as { code?: unknown } | null)?.code;
  return typeof code === "string" ? code : "UNKNOWN";
}

/**
 * Which failures a retry can fix. A certificate that cannot be trusted, or a server that does not
 * speak HTTP (a parser error, a TLS handshake with a plain-HTTP port), answers the same way every
 * time: retrying only delays the error the user needs to see.
 */
export function classifyNetworkError(code: string): "timeout" | "tls" | "protocol" | "network" {
  if (
    code === "UND_ERR_HEADERS_TIMEOUT" ||
    code === "UND_ERR_BODY_TIMEOUT" ||
    code === "UND_ERR_CONNECT_TIMEOUT"
  )
    return "timeout";
  if (/CERT|^ERR_TLS_CERT|SELF_SIGNED|UNABLE_TO_VERIFY|UNABLE_TO_GET_ISSUER/.test(code)) return "tls";
  if (/^HPE_|^HTTPParserError$|^ERR_SSL_|^EPROTO$/.test(code)) return "protocol";
  return "network";
}

/**
 * undici transport: pacing, retries, validation. Pacing and 429s belong to the app's shared
 * RateGovernor: a 429 is waited out inside the attempt (it is pacing, not a failure), so it never
 * uses up the attempts p-retry keeps for 5xx, resets and timeouts (exponential backoff with jitter,
 * bounded attempts and total time — time held by the governor not counted). Malformed 200s are
 * retried `retry.malformedRetries` times (likely a proxy/truncation glitch).
 */
export class HttpTransport {
  readonly stats: ClientStats;
  private readonly pool: Pool;
  private readonly prefix: string;
  private readonly origin: string;
  private readonly tokens: TokenProvider;
  private readonly governor: RateGovernor;
  private readonly governorKey: string;
  private readonly limiter: ConcurrencyLimiter;
  private readonly userAgent: string;
  private readonly log: Logger | undefined;

  constructor(private readonly o: ResolvedClientOptions) {
    const u = new URL(o.baseUrl);
    this.origin = u.origin;
    this.prefix = u.pathname.replace(/\/+$/, "");
    this.pool = new Pool(this.origin, {
      connections: o.connections,
      headersTimeout: o.headersTimeoutMs,
      bodyTimeout: o.bodyTimeoutMs,
    });
    this.tokens = new TokenProvider(o.appId, o.secretKey, o.authMode);
    this.governorKey = `${o.baseUrl} ${o.appId}`;
    this.governor = acquireGovernor(this.governorKey, {
      perSecond: o.rateLimit.perSecond,
      burst: o.rateLimit.burst,
      giveUpMs: o.throttleGiveUpMs,
    });
    const gov = this.governor.stats;
    this.stats = {
      requests: 0,
      retries: 0,
      byStatus: {},
      get rateLimited() {
        return gov.rateLimited;
      },
      get pausedMs() {
        return gov.pausedMs;
      },
      get currentRate() {
        return gov.currentRate;
      },
    };
    this.limiter = new ConcurrencyLimiter(o.maxConcurrency);
    this.userAgent = `talkjs-mirror/${VERSION} (+node ${process.version})${o.userAgentExtra ? ` ${o.userAgentExtra}` : ""}`;
    this.log = o.logger;
  }

  private secrets(): string[] {
    return [this.o.secretKey, ...this.tokens.issued];
  }

  scrub(text: string): string {
    return redactSecrets(text, this.secrets());
  }

  async close(): Promise<void> {
    releaseGovernor(this.governorKey, this.governor);
    await this.pool.close();
  }

  async request(spec: RequestSpec): Promise<HttpResult> {
    const signals = [spec.signal, this.o.signal].filter((s): s is AbortSignal => s !== undefined);
    const signal =
      signals.length === 0 ? undefined : signals.length === 1 ? signals[0] : AbortSignal.any(signals);
    const qs = new URLSearchParams();
    for (const [k, val] of Object.entries(spec.query ?? {})) if (val !== undefined) qs.set(k, String(val));
    const path = `${this.prefix}${spec.path}${qs.size > 0 ? `?${qs.toString()}` : ""}`;
    const url = scrubUrl(`${this.origin}${path}`, this.secrets());
    const started = Date.now();
    const { maxAttempts, maxTotalMs, minDelayMs, maxDelayMs, malformedRetries } = this.o.retry;
    let attempts = 0;
    let malformed = 0;
    // Decided in onFailedAttempt (which p-retry awaits first) and read back by shouldRetry.
    let retryThis = false;
    // Time the governor held this request (pacing, 429 pauses): not the request's retry time.
    const held = { ms: 0 };
    try {
      return await pRetry(
        (attemptNumber) => {
          attempts = attemptNumber;
          return this.attempt(spec, path, url, signal, held);
        },
        {
          retries: maxAttempts - 1,
          // The backoff is waited in onFailedAttempt, so its length can be logged and budgeted.
          minTimeout: 0,
          maxTimeout: 0,
          randomize: false,
          ...(signal ? { signal } : {}),
          onFailedAttempt: async ({ error, attemptNumber, retriesLeft }) => {
            retryThis = false;
            if (!(error instanceof TalkJSApiError)) return;
            if (error.code === "TALKJS_MALFORMED_RESPONSE") malformed++;
            // Exponential backoff with jitter: minDelay doubling per attempt, times 1–2, capped.
            const waitMs = Math.round(
              Math.min(maxDelayMs, minDelayMs * 2 ** (attemptNumber - 1) * (1 + Math.random())),
            );
            retryThis =
              spec.retry !== false &&
              isRetryable(error) &&
              !(error.code === "TALKJS_MALFORMED_RESPONSE" && malformed > malformedRetries) &&
              retriesLeft > 0 &&
              Date.now() - started - held.ms + waitMs <= maxTotalMs;
            if (!retryThis) return;
            this.stats.retries++;
            this.log?.info(
              { attempt: attemptNumber, code: error.code, status: error.status, waitMs, url },
              `talkjs request failed (${error.code}), retrying in ${waitMs} ms`,
            );
            await sleep(waitMs, signal);
          },
          shouldRetry: () => retryThis,
        },
      );
    } catch (e) {
      if (!(e instanceof TalkJSApiError)) {
        if (signal?.aborted) {
          throw new TalkJSApiError("TALKJS_ABORTED", `TalkJS request aborted: ${spec.method} ${url}`, {
            url,
            attempts,
          });
        }
        throw e;
      }
      e.attempts = attempts;
      if (attempts <= 1) throw e;
      throw new TalkJSApiError(e.code as never, `${e.message} (after ${attempts} attempts)`, {
        status: e.status,
        url: e.url,
        bodyExcerpt: e.bodyExcerpt,
        attempts,
      });
    }
  }

  private async attempt(
    spec: RequestSpec,
    path: string,
    url: string,
    signal: AbortSignal | undefined,
    held: { ms: number },
  ): Promise<HttpResult> {
    return this.limiter.run(async () => {
      // A 429 is waited out here, with every other request of the app, and the same attempt
      // goes again: only the governor decides when throttling has lasted too long.
      for (;;) {
        const result = await this.send(spec, path, url, signal, held);
        if (result !== "throttled") return result;
      }
    });
  }

  private async send(
    spec: RequestSpec,
    path: string,
    url: string,
    signal: AbortSignal | undefined,
    held: { ms: number },
  ): Promise<HttpResult | "throttled"> {
    const aborted = (): TalkJSApiError =>
      new TalkJSApiError("TALKJS_ABORTED", `TalkJS request aborted: ${spec.method} ${url}`, { url });
    let ticket: Ticket;
    try {
      ticket = await this.governor.acquire(signal);
    } catch {
      throw aborted();
    }
    held.ms += ticket.waitedMs;
    this.stats.requests++;
    let statusCode: number;
    let text: string;
    let retryAfter: string | undefined;
    try {
      const res = await this.pool.request({
        method: spec.method,
        path,
        headers: {
          authorization: `Bearer ${this.tokens.token()}`,
          "talkjs-rest-version": this.o.restVersion,
          "user-agent": this.userAgent,
          accept: "application/json",
          ...(spec.rawBody
            ? { "content-type": spec.rawBody.contentType, "content-length": String(spec.rawBody.length) }
            : spec.body === undefined
              ? {}
              : { "content-type": "application/json" }),
        },
        body: spec.rawBody
          ? Readable.from(spec.rawBody.open(), { objectMode: false })
          : spec.body === undefined
            ? null
            : JSON.stringify(spec.body),
        signal: signal ?? null,
        headersTimeout: this.o.headersTimeoutMs,
        bodyTimeout: this.o.bodyTimeoutMs,
      });
      statusCode = res.statusCode;
      const ra = res.headers["retry-after"];
      retryAfter = Array.isArray(ra) ? ra[0] : ra;
      text = await res.body.text();
    } catch (e) {
      if (signal?.aborted) throw aborted();
      const codeStr = errorCode(e);
      const kind = classifyNetworkError(codeStr);
      // Cause is a scrubbed summary, not the undici error (which may reference request headers).
      const details = {
        url,
        cause: { code: codeStr, message: this.scrub(String((e as Error).message ?? e)) },
      };
      if (kind === "tls") {
        throw new TalkJSApiError(
          "TALKJS_TLS",
          `The server at ${this.origin} presented a certificate that cannot be trusted (${codeStr}): check baseUrl; not retried`,
          details,
        );
      }
      if (kind === "protocol") {
        throw new TalkJSApiError(
          "TALKJS_PROTOCOL",
          `The server at ${this.origin} did not answer HTTP${this.origin.startsWith("https:") ? "S" : ""} (${codeStr}): check baseUrl; not retried`,
          details,
        );
      }
      throw new TalkJSApiError(
        kind === "timeout" ? "TALKJS_TIMEOUT" : "TALKJS_NETWORK",
        `TalkJS ${kind === "timeout" ? "request timed out" : "network error"} (${codeStr}): ${spec.method} ${url}`,
        details,
      );
    }
    this.stats.byStatus[statusCode] = (this.stats.byStatus[statusCode] ?? 0) + 1;
    if (statusCode === 429 && !spec.allowStatus?.includes(429)) {
      const retryAfterMs = parseRetryAfter(retryAfter, Date.now());
      this.governor.on429(ticket, retryAfterMs, url);
      this.log?.info({ retryAfterMs, url }, "talkjs rate limited (HTTP 429): every request waits");
      return "throttled";
    }
    this.governor.onSuccess();
    const excerpt = this.scrub(text.slice(0, EXCERPT));
    if (spec.allowStatus?.includes(statusCode)) return { status: statusCode, json: undefined };
    if (statusCode !== 200) throw this.statusError(statusCode, url, excerpt);
    let json: unknown;
    try {
      json = text.length === 0 ? {} : JSON.parse(text);
    } catch {
      throw new TalkJSApiError(
        "TALKJS_MALFORMED_RESPONSE",
        `TalkJS answered HTTP 200 with invalid JSON: ${spec.method} ${url}`,
        {
          status: statusCode,
          url,
          bodyExcerpt: excerpt,
        },
      );
    }
    if (spec.schema) {
      const problem = check(spec.schema, json);
      if (problem) {
        throw new TalkJSApiError(
          "TALKJS_MALFORMED_RESPONSE",
          `TalkJS answered HTTP 200 with an unexpected shape (${problem}): ${spec.method} ${url}`,
          { status: statusCode, url, bodyExcerpt: excerpt },
        );
      }
    }
    return { status: statusCode, json };
  }

  private statusError(status: number, url: string, excerpt: string): TalkJSApiError {
    const d = { status, url, bodyExcerpt: excerpt };
    if (status === 429) {
      // Only reached for a request that allowed 429 back: the governor handles all others.
      return new TalkJSApiError("TALKJS_RATE_LIMITED", `TalkJS rate limit hit (HTTP 429): ${url}`, d);
    }
    let msg: string;
    if (status === 401)
      msg = "TalkJS rejected the credentials (HTTP 401): check TALKJS_SECRET_KEY and TALKJS_APP_ID";
    else if (status === 403)
      msg = "TalkJS refused access (HTTP 403): check TALKJS_SECRET_KEY and TALKJS_APP_ID";
    else if (status === 404)
      msg = `TalkJS answered 404 Not Found for ${url}: check TALKJS_APP_ID and TALKJS_API_URL`;
    else if (status === 400) msg = `TalkJS rejected the request (HTTP 400): ${excerpt}`;
    else msg = `TalkJS answered HTTP ${status}: ${url}`;
    return new TalkJSApiError(`TALKJS_HTTP_${status}`, msg, d);
  }
}
