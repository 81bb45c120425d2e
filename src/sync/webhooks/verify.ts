// Verification of a TalkJS webhook delivery, as small pure functions the receiver calls before it
// parses anything: the signature is upper-case hex HMAC-SHA256(secret key, timestamp + "." + raw
// body), compared in constant time against the current key and, during a rotation, the previous
// one; the timestamp must be within ±5 minutes (milliseconds, or seconds when below 10^12).
// Nothing here logs or returns a key.
import { createHash, createHmac, timingSafeEqual } from "node:crypto";

/** TalkJS's largest accepted body: anything bigger is refused without buffering it all. */
export const MAX_WEBHOOK_BODY_BYTES = 1_048_576;
/** How far a delivery's timestamp may be from our clock (replays, clock skew). */
export const MAX_TIMESTAMP_SKEW_MS = 300_000;

export type RejectReason = "bad_signature" | "stale_timestamp" | "oversize" | "malformed";

/** The HTTP status the receiver answers for a rejection (401 only for the signature). */
export function rejectStatus(reason: RejectReason): 400 | 401 {
  return reason === "bad_signature" ? 401 : 400;
}

/** Upper-case hex HMAC-SHA256 of `timestamp + "." + body` (what TalkJS sends, and the simulator signs). */
export function signWebhook(secret: string, timestamp: string, body: Buffer | string): string {
  return createHmac("sha256", secret).update(`${timestamp}.`).update(body).digest("hex").toUpperCase();
}

/** A header timestamp in milliseconds (a value below 10^12 is read as seconds); null when not a number. */
export function parseWebhookTimestamp(header: string | undefined): number | null {
  if (header === undefined || !/^\d{1,16}$/.test(header.trim())) return null;
  const n = Number(header.trim());
  return n < 1e12 ? n * 1000 : n;
}

export interface WebhookHeaders {
  timestamp: string | undefined;
  signature: string | undefined;
}

export interface VerifyInput extends WebhookHeaders {
  body: Buffer;
  /** The current secret key, then (during a rotation) the previous one. */
  secrets: readonly string[];
  now: number;
}

/** null when the delivery is authentic and fresh, else why not. The signature is checked first. */
export function verifyWebhook(input: VerifyInput): RejectReason | null {
  const { timestamp, signature } = input;
  if (timestamp === undefined || signature === undefined) return "bad_signature";
  const given = Buffer.from(signature.trim(), "utf8");
  let ok = false;
  for (const secret of input.secrets) {
    if (secret.length === 0) continue;
    const expected = Buffer.from(signWebhook(secret, timestamp, input.body), "utf8");
    // timingSafeEqual needs equal lengths; a length mismatch reveals only the (public) hex length.
    if (expected.length === given.length && timingSafeEqual(expected, given)) ok = true;
  }
  if (!ok) return "bad_signature";
  const at = parseWebhookTimestamp(timestamp);
  if (at === null || Math.abs(input.now - at) > MAX_TIMESTAMP_SKEW_MS) return "stale_timestamp";
  return null;
}

/** A delivery's parsed envelope: only what the consumer plans from. */
export interface WebhookEvent {
  type: string;
  createdAt: number | null;
  data: Record<string, unknown>;
}

/** Parses a verified body; null when it is not a TalkJS event envelope. */
export function parseWebhookEvent(body: Buffer): WebhookEvent | null {
  let json: unknown;
  try {
    json = JSON.parse(body.toString("utf8"));
  } catch {
    return null;
  }
  if (typeof json !== "object" || json === null) return null;
  const { type, createdAt, data } = json as Record<string, unknown>;
  if (typeof type !== "string" || type.length === 0) return null;
  if (typeof data !== "object" || data === null || Array.isArray(data)) return null;
  return {
    type,
    createdAt: typeof createdAt === "number" && Number.isFinite(createdAt) ? createdAt : null,
    data: data as Record<string, unknown>,
  };
}

/** The dedupe key of a delivery: TalkJS's retry sends the same body. */
export function bodyHash(body: Buffer): string {
  return createHash("sha256").update(body).digest("hex");
}
