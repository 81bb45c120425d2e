// Typed readers for settings given as environment variables. Each failure is a ConfigError that
// names the variable, what was wrong and what is accepted, so the user can fix it in one go.
import { ConfigError } from "../errors.ts";

export type Env = Readonly<Record<string, string | undefined>>;

/** The value of `name`, trimmed; undefined when unset or blank (a blank value means "use the default"). */
export function readString(env: Env, name: string): string | undefined {
  const value = env[name]?.trim();
  return value === undefined || value === "" ? undefined : value;
}

export function requireString(env: Env, name: string, hint: string): string {
  const value = readString(env, name);
  if (value === undefined) throw new ConfigError(name, `is required but not set. ${hint}`);
  return value;
}

export function readInteger(
  env: Env,
  name: string,
  fallback: number,
  bounds: { min: number; max?: number } = { min: 0 },
): number {
  const raw = readString(env, name);
  if (raw === undefined) return fallback;
  const range = bounds.max === undefined ? `>= ${bounds.min}` : `between ${bounds.min} and ${bounds.max}`;
  if (!/^-?\d+$/.test(raw))
    throw new ConfigError(name, `"${raw}" is not a whole number; use a number ${range}.`);
  const value = Number(raw);
  if (value < bounds.min || (bounds.max !== undefined && value > bounds.max)) {
    throw new ConfigError(name, `${value} is out of range; use a number ${range}.`);
  }
  return value;
}

export function readNumber(
  env: Env,
  name: string,
  fallback: number,
  bounds: { min: number; max: number },
): number {
  const raw = readString(env, name);
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value < bounds.min || value > bounds.max) {
    throw new ConfigError(name, `"${raw}" is not a number between ${bounds.min} and ${bounds.max}.`);
  }
  return value;
}

export function readBoolean(env: Env, name: string, fallback: boolean): boolean {
  const raw = readString(env, name)?.toLowerCase();
  if (raw === undefined) return fallback;
  if (["1", "true", "yes", "on"].includes(raw)) return true;
  if (["0", "false", "no", "off"].includes(raw)) return false;
  throw new ConfigError(name, `"${raw}" is not a boolean; use true or false.`);
}

export function readChoice<T extends string>(env: Env, name: string, choices: readonly T[], fallback: T): T {
  const raw = readString(env, name);
  if (raw === undefined) return fallback;
  if ((choices as readonly string[]).includes(raw)) return raw as T;
  throw new ConfigError(name, `"${raw}" is not one of ${choices.join(", ")}.`);
}

export function readHttpUrl(env: Env, name: string, fallback: string): string {
  const raw = readString(env, name) ?? fallback;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ConfigError(name, `"${raw}" is not a URL; use e.g. https://api.talkjs.com.`);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new ConfigError(name, `"${raw}" must be an http:// or https:// URL.`);
  }
  if (url.username || url.password) {
    throw new ConfigError(name, "must not contain credentials; set TALKJS_SECRET_KEY instead.");
  }
  return raw.replace(/\/+$/, "");
}

const DURATION_UNITS: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** A duration: whole milliseconds ("90000") or a number with a unit ("90s", "30m", "1h", "2d"); in ms. */
export function readDuration(
  env: Env,
  name: string,
  fallbackMs: number,
  bounds: { min: number; max: number },
): number {
  const raw = readString(env, name);
  if (raw === undefined) return fallbackMs;
  const m = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?$/.exec(raw);
  const value = m ? Number(m[1]) * (DURATION_UNITS[m[2] ?? "ms"] as number) : Number.NaN;
  if (!Number.isFinite(value) || value < bounds.min || value > bounds.max) {
    throw new ConfigError(
      name,
      `"${raw}" is not a duration between ${bounds.min} ms and ${bounds.max} ms; use e.g. 3600000, 90s, 30m, 1h or 2d.`,
    );
  }
  return Math.round(value);
}
