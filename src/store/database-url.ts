import os from "node:os";
import path from "node:path";
import { ConfigError } from "../errors.ts";

export type DatabaseProvider = "sqlite" | "postgresql";

export interface DatabaseConfig {
  provider: DatabaseProvider;
  /** `file:/absolute/path.db` for SQLite; the connection string as given for PostgreSQL. */
  url: string;
  /** SQLite only: absolute path of the database file. */
  filePath?: string;
  /** PostgreSQL only: the password from the URL, so callers can scrub it from any output. */
  password?: string;
  /**
   * Every credential-bearing value of the URL (the userinfo password, `password=`, `sslpassword=`,
   * `sslkey=`…, raw and decoded), so callers can scrub them from any text they show or store.
   */
  secrets: string[];
  /** PostgreSQL connection pool size (SQLite always has one writer connection). */
  poolSize: number;
}

const ACCEPTED =
  "expected `file:<path>` for SQLite (e.g. file:./talkjs-mirror.db) or " +
  "`postgresql://user:password@host:5432/dbname` (also postgres://) for PostgreSQL";

/**
 * DATABASE_URL → provider + connection settings. Only parses: `file:` paths are resolved against the
 * working directory (`file:~/…` against the home directory), nothing is created (the directory appears when the store or a migration opens
 * the file for writing, see ./open.ts). Errors never echo the URL (it may hold a password).
 */
export function parseDatabaseUrl(
  url: string,
  options: { poolSize?: number; cwd?: string; home?: string } = {},
): DatabaseConfig {
  const poolSize = options.poolSize ?? 5;
  const trimmed = url.trim();
  if (trimmed === "") throw new ConfigError("DATABASE_URL", `is empty; ${ACCEPTED}.`);
  if (trimmed.startsWith("file:")) {
    let rest = trimmed.slice("file:".length);
    const query = rest.indexOf("?");
    if (query >= 0) rest = rest.slice(0, query);
    if (rest.startsWith("//")) {
      // file:///abs/path (empty host) or file://localhost/abs/path. Anything else names a host:
      // `file://data/mirror.db` would otherwise quietly become ./data/mirror.db.
      const host = /^\/\/([^/]*)/.exec(rest)?.[1] ?? "";
      if (host !== "" && host.toLowerCase() !== "localhost") {
        throw new ConfigError(
          "DATABASE_URL",
          `file://${host}/… names a host ("${host}"), which SQLite cannot open; write file:///absolute/path.db for an absolute path or file:./relative/path.db for one relative to the working directory.`,
        );
      }
      rest = rest.slice(2 + host.length);
    }
    if (rest === "") throw new ConfigError("DATABASE_URL", `has no file path; ${ACCEPTED}.`);
    let decoded = decodeURIComponent(rest);
    // A shell expands ~ only at the start of a word: in file:~/… it reaches us literally.
    if (decoded === "~" || decoded.startsWith("~/"))
      decoded = path.join(options.home ?? os.homedir(), decoded.slice(1));
    else if (decoded.startsWith("~")) {
      throw new ConfigError(
        "DATABASE_URL",
        `"${decoded.split("/")[0]}" (another user's home) is not expanded; write the absolute path, e.g. file:///home/name/mirror.db.`,
      );
    }
    const filePath = path.resolve(options.cwd ?? process.cwd(), decoded);
    return { provider: "sqlite", url: `file:${filePath}`, filePath, poolSize: 1, secrets: [] };
  }
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(trimmed)?.[1]?.toLowerCase();
  if (scheme === "postgres" || scheme === "postgresql") {
    let parsed: URL;
    try {
      parsed = new URL(trimmed);
    } catch {
      throw new ConfigError("DATABASE_URL", `is not a valid PostgreSQL URL; ${ACCEPTED}.`);
    }
    const secrets = databaseUrlSecrets(trimmed);
    const password = parsed.password
      ? decodeURIComponent(parsed.password)
      : (parsed.searchParams.get("password") ?? undefined);
    return { provider: "postgresql", url: trimmed, ...(password ? { password } : {}), poolSize, secrets };
  }
  const shown = scheme ? `scheme "${scheme}:" is not supported` : "is not a URL";
  throw new ConfigError("DATABASE_URL", `${shown}; ${ACCEPTED}.`);
}

/**
 * Query parameters that carry a credential or point at one: libpq's and node-postgres's
 * `password`, `sslpassword`, `sslkey`, `passfile`, and anything named like a token or secret.
 */
const CREDENTIAL_PARAM = /pass|key|secret|token|auth|credential/i;

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text.replace(/\+/g, " "));
  } catch {
    return text;
  }
}

/**
 * Where the password of `scheme://user:password@host` is in the text. The authority ends at the
 * first `/`, `?` or `#` and the userinfo at its LAST `@`, so an unencoded `@` or `:` in the
 * password is still covered whole.
 */
function userinfoPassword(url: string): { start: number; password: string } | undefined {
  const scheme = /^\s*[a-z][a-z0-9+.-]*:\/\//i.exec(url);
  if (!scheme) return undefined;
  const from = scheme[0].length;
  const end = url.slice(from).search(/[/?#]/);
  const authority = end < 0 ? url.slice(from) : url.slice(from, from + end);
  const at = authority.lastIndexOf("@");
  const colon = authority.indexOf(":");
  if (at < 0 || colon < 0 || colon > at) return undefined;
  return { start: from + colon + 1, password: authority.slice(colon + 1, at) };
}

/**
 * The credential-bearing values in a database URL, raw and decoded (either may appear in a
 * driver's error text). Works on unparseable text too: nothing here throws.
 */
export function databaseUrlSecrets(url: string | undefined): string[] {
  if (!url) return [];
  const found = new Set<string>();
  const password = userinfoPassword(url)?.password;
  if (password) found.add(password).add(safeDecode(password));
  for (const match of url.matchAll(/[?&]([^=&#]*)=([^&#]*)/g)) {
    const [, key = "", value = ""] = match;
    if (value !== "" && CREDENTIAL_PARAM.test(safeDecode(key))) found.add(value).add(safeDecode(value));
  }
  return [...found].filter((s) => s.length > 0);
}

/**
 * The URL with every credential masked as `***`: the userinfo password and the values of
 * credential-bearing parameters (`password=`, `sslpassword=`, `sslkey=`…). Textual, so the rest
 * of the URL stays exactly as given, and an unparseable URL is masked too.
 */
export function redactDatabaseUrl(url: string): string {
  const userinfo = userinfoPassword(url);
  const masked = userinfo?.password
    ? `${url.slice(0, userinfo.start)}***${url.slice(userinfo.start + userinfo.password.length)}`
    : url;
  return masked.replace(/([?&])([^=&#]*)=([^&#]*)/g, (all, sep: string, key: string, value: string) =>
    value !== "" && CREDENTIAL_PARAM.test(safeDecode(key)) ? `${sep}${key}=***` : all,
  );
}

/**
 * `text` (an error message, a driver's detail) with the database URL shown masked and every
 * credential of it replaced by `***`: what may be printed, logged or stored in sync_runs.error.
 */
export function maskDatabaseText(text: string, url: string): string {
  let out = text.split(url).join(redactDatabaseUrl(url));
  // Longest first, so a decoded secret that contains a raw one is masked whole.
  for (const secret of databaseUrlSecrets(url).sort((a, b) => b.length - a.length)) {
    if (secret.length >= 3) out = out.split(secret).join("***");
  }
  return out;
}
