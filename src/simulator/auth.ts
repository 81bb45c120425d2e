// Bearer authentication exactly as TalkJS accepts it: the raw secret key (the "legacy" way), or
// a short-lived app JWT signed with it (HS256, payload {tokenType:"app"}, iss = app id, exp).
import { createHmac, timingSafeEqual } from "node:crypto";
import { isRecord } from "./body.ts";

/** Constant-time string comparison (different lengths are unequal without a timing leak on content). */
function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

function decodeJson(part: string): unknown {
  try {
    return JSON.parse(Buffer.from(part, "base64url").toString("utf8"));
  } catch {
    return undefined;
  }
}

/**
 * Verifies an app JWT. `nowMs` is the real clock (not the simulator's data clock): tokens are
 * minted by clients from their own clock. Returns the reason it is rejected, or null if valid.
 */
export function verifyAppJwt(token: string, appId: string, secretKey: string, nowMs: number): string | null {
  const parts = token.split(".");
  if (parts.length !== 3) return "not a JWT";
  const [h, p, sig] = parts as [string, string, string];
  const header = decodeJson(h);
  if (!isRecord(header) || header.alg !== "HS256") return "JWT must be signed with HS256";
  const expected = createHmac("sha256", secretKey).update(`${h}.${p}`).digest("base64url");
  if (!safeEqual(sig, expected)) return "JWT signature does not match the secret key";
  const payload = decodeJson(p);
  if (!isRecord(payload)) return "JWT payload is not a JSON object";
  if (payload.tokenType !== "app") return 'JWT tokenType must be "app"';
  if (payload.iss !== appId) return "JWT issuer is not this app";
  if (typeof payload.exp !== "number") return "JWT has no exp";
  if (payload.exp * 1000 <= nowMs) return "JWT has expired";
  return null;
}

/** Checks an Authorization header value; returns null when authorised, else the 401 reason. */
export function checkAuthorization(
  header: string | undefined,
  appId: string,
  secretKey: string,
  nowMs: number,
): string | null {
  if (!header) return "missing Authorization header";
  const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
  if (!m) return "Authorization must be 'Bearer <token>'";
  const token = m[1] as string;
  if (safeEqual(token, secretKey)) return null;
  if (token.split(".").length === 3) return verifyAppJwt(token, appId, secretKey, nowMs);
  return "invalid secret key";
}
