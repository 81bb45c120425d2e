import { createHmac } from "node:crypto";

function b64url(input: string | Buffer): string {
  return Buffer.from(input).toString("base64url");
}

/** HS256 app JWT as TalkJS recommends: {tokenType:"app", iss: appId, iat, exp}. */
export function signAppJwt(appId: string, secretKey: string, nowMs: number, ttlSeconds = 30): string {
  const iat = Math.floor(nowMs / 1000);
  const header = b64url(JSON.stringify({ alg: "HS256", typ: "JWT" }));
  const payload = b64url(JSON.stringify({ tokenType: "app", iss: appId, iat, exp: iat + ttlSeconds }));
  const sig = createHmac("sha256", secretKey).update(`${header}.${payload}`).digest("base64url");
  return `${header}.${payload}.${sig}`;
}

/** Produces the Authorization token; JWTs are cached and re-signed ~10 s before they expire. */
export class TokenProvider {
  private cached: { token: string; expMs: number } | null = null;
  /** Every token ever issued, so logs/errors can scrub them. Bounded to the last few. */
  readonly issued: string[] = [];

  constructor(
    private readonly appId: string,
    private readonly secretKey: string,
    private readonly mode: "jwt" | "secret-key",
    private readonly now: () => number = Date.now,
    private readonly ttlSeconds = 30,
    private readonly refreshBeforeMs = 10_000,
  ) {}

  token(): string {
    if (this.mode === "secret-key") return this.secretKey;
    const now = this.now();
    if (this.cached && now < this.cached.expMs - this.refreshBeforeMs) return this.cached.token;
    const token = signAppJwt(this.appId, this.secretKey, now, this.ttlSeconds);
    this.cached = { token, expMs: Math.floor(now / 1000) * 1000 + this.ttlSeconds * 1000 };
    this.issued.push(token);
    if (this.issued.length > 8) this.issued.shift();
    return token;
  }
}
