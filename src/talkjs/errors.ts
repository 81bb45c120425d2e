import { MirrorError } from "../errors.ts";

export type TalkJSErrorCode =
  | `TALKJS_HTTP_${number}`
  | "TALKJS_RATE_LIMITED"
  /** Continuous 429s for longer than the throttling give-up time. */
  | "TALKJS_THROTTLED"
  /** A 429's Retry-After longer than the client waits. */
  | "TALKJS_RETRY_AFTER_TOO_LONG"
  | "TALKJS_MALFORMED_RESPONSE"
  | "TALKJS_TIMEOUT"
  | "TALKJS_NETWORK"
  /** The server's certificate cannot be trusted: never retried. */
  | "TALKJS_TLS"
  /** The server did not answer HTTP (parser error, TLS to a plain port): never retried. */
  | "TALKJS_PROTOCOL"
  | "TALKJS_ABORTED";

export interface TalkJSApiErrorDetails {
  status?: number;
  /** Already scrubbed of secrets. */
  url?: string;
  /** ≤ 200 chars, scrubbed. */
  bodyExcerpt?: string;
  attempts?: number;
  cause?: unknown;
}

/** Every failure of a TalkJS call. Never holds a secret: url/excerpt are scrubbed before construction. */
export class TalkJSApiError extends MirrorError {
  readonly status: number | undefined;
  readonly url: string | undefined;
  readonly bodyExcerpt: string | undefined;
  attempts: number;

  constructor(code: TalkJSErrorCode, message: string, details: TalkJSApiErrorDetails = {}) {
    // The cause is only kept when it is a plain scrubbed description: undici errors may carry
    // request options (headers with the Authorization value), so we keep a sanitized copy.
    super(code, message, details.cause === undefined ? undefined : { cause: details.cause });
    this.status = details.status;
    this.url = details.url;
    this.bodyExcerpt = details.bodyExcerpt;
    this.attempts = details.attempts ?? 1;
  }

  toJSON(): Record<string, unknown> {
    return {
      name: this.name,
      code: this.code,
      message: this.message,
      status: this.status,
      url: this.url,
      bodyExcerpt: this.bodyExcerpt,
      attempts: this.attempts,
    };
  }
}

/** Codes that are worth retrying. */
export function isRetryable(err: TalkJSApiError): boolean {
  if (err.code === "TALKJS_ABORTED") return false;
  if (err.code === "TALKJS_TIMEOUT" || err.code === "TALKJS_NETWORK" || err.code === "TALKJS_RATE_LIMITED")
    return true;
  if (err.code === "TALKJS_MALFORMED_RESPONSE") return true;
  return err.status !== undefined && [500, 502, 503, 504].includes(err.status);
}
