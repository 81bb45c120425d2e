// Scrubbing of secrets from free text (error messages, URLs, body excerpts).

/** Replaces every occurrence of each secret (length ≥ 4, to avoid mangling text) with "[REDACTED]". */
export function redactSecrets(text: string, secrets: readonly (string | undefined | null)[]): string {
  let out = text;
  for (const s of secrets) {
    if (s && s.length >= 4) out = out.split(s).join("[REDACTED]");
  }
  // Bearer tokens and JWT-looking strings are scrubbed even if not listed explicitly.
  out = out.replace(/Bearer\s+[^\s"',]+/gi, "Bearer [REDACTED]");
  out = out.replace(/eyJ[\w-]+\.[\w-]+\.[\w-]+/g, "[REDACTED]");
  out = out.replace(/sk_(test|live)_[\w-]+/g, "sk_$1_[REDACTED]");
  return out;
}

/** Drops userinfo and sensitive query parameters from a URL string. */
export function scrubUrl(url: string, secrets: readonly string[] = []): string {
  try {
    const u = new URL(url);
    u.username = "";
    u.password = "";
    for (const key of [...u.searchParams.keys()]) {
      if (/token|secret|key|auth|password/i.test(key)) u.searchParams.set(key, "[REDACTED]");
    }
    return redactSecrets(u.toString(), secrets);
  } catch {
    return redactSecrets(url, secrets);
  }
}
