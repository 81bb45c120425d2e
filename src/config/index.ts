// The one place settings are read. The CLI layers a config file, the environment and its flags
// (flags win), calls loadConfig once and passes the validated result down; nothing below the CLI
// reads process.env.
import { readFileSync } from "node:fs";
import { ConfigError } from "../errors.ts";
import type { DatabaseConfig } from "../store/database-url.ts";
import { parseDatabaseUrl } from "../store/database-url.ts";
import type { SyncSettings } from "../sync/jobs.ts";
import { type AuthMode, resolveClientOptions, type TalkJSClientOptions } from "../talkjs/config.ts";
import {
  type Env,
  readBoolean,
  readChoice,
  readDuration,
  readHttpUrl,
  readInteger,
  readNumber,
  readString,
  requireString,
} from "./env.ts";
import { readFilesSettings } from "./files.ts";
import { closestSetting, knownSettings } from "./known.ts";

export type { SyncSettings } from "../sync/jobs.ts";
export type { Env } from "./env.ts";

const LOG_LEVELS = ["fatal", "error", "warn", "info", "debug", "trace", "silent"] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export const DEFAULT_DATABASE_URL = "file:./talkjs-mirror.db";

export const SYNC_DEFAULTS = {
  clockSkewMs: 60_000,
  maxDeleteShare: 0.1,
  mirrorMessages: true,
  mirrorUsers: true,
  messageConcurrency: 4,
  backfillConcurrency: 1,
  confirmAfterMs: 3_600_000,
} as const;

/** TalkJS client settings without the credentials, validated. */
export type TalkJSSettings = Omit<TalkJSClientOptions, "logger" | "signal"> & {
  appId: string;
  secretKey: string;
};

export interface AppConfig {
  /** Absent when the command does not talk to TalkJS (e.g. `migrate`, `status`). */
  talkjs: TalkJSSettings | undefined;
  /** The app the database rows belong to; set whenever TALKJS_APP_ID is. */
  appId: string | undefined;
  database: DatabaseConfig;
  sync: SyncSettings;
  log: { level: LogLevel; pretty: boolean };
  /** Values that must never appear in output: the TalkJS secret key, database passwords. */
  secrets: string[];
  /** Print the Prisma schema engine's own log lines while migrating (diagnosing a failed migration). */
  schemaEngineDebug: boolean;
}

export function loadConfig(env: Env, options: { requireTalkJS: boolean; isTTY?: boolean }): AppConfig {
  const talkjs = options.requireTalkJS ? readTalkJS(env) : undefined;
  const database = parseDatabaseUrl(readString(env, "DATABASE_URL") ?? DEFAULT_DATABASE_URL, {
    poolSize: readInteger(env, "DATABASE_POOL_SIZE", 5, { min: 1, max: 100 }),
    busyTimeoutMs: readInteger(env, "SQLITE_BUSY_TIMEOUT_MS", 10_000, { min: 0, max: 600_000 }),
  });
  const secrets = [
    talkjs?.secretKey ?? readString(env, "TALKJS_SECRET_KEY"),
    readString(env, "TALKJS_SECRET_KEY_PREVIOUS"),
    ...database.secrets,
  ].filter((s): s is string => !!s);
  return {
    talkjs,
    appId: talkjs?.appId ?? readString(env, "TALKJS_APP_ID"),
    database,
    sync: {
      clockSkewMs: readInteger(env, "SYNC_CLOCK_SKEW_MS", SYNC_DEFAULTS.clockSkewMs, {
        min: 0,
        max: 86_400_000,
      }),
      maxDeleteShare: readNumber(env, "RECONCILE_MAX_DELETE_SHARE", SYNC_DEFAULTS.maxDeleteShare, {
        min: 0,
        max: 1,
      }),
      mirrorMessages: readBoolean(env, "MIRROR_MESSAGES", SYNC_DEFAULTS.mirrorMessages),
      mirrorUsers: readBoolean(env, "MIRROR_USERS", SYNC_DEFAULTS.mirrorUsers),
      messageConcurrency: readInteger(env, "MESSAGES_CONCURRENCY", SYNC_DEFAULTS.messageConcurrency, {
        min: 1,
        max: 64,
      }),
      backfillConcurrency: readInteger(env, "BACKFILL_CONCURRENCY", SYNC_DEFAULTS.backfillConcurrency, {
        min: 1,
        max: 64,
      }),
      confirmAfterMs: readDuration(env, "RECONCILE_CONFIRM_AFTER", SYNC_DEFAULTS.confirmAfterMs, {
        min: 0,
        max: 30 * 86_400_000,
      }),
      files: readFilesSettings(env, database),
    },
    log: {
      level: readChoice(env, "LOG_LEVEL", LOG_LEVELS, "info"),
      pretty: readBoolean(env, "LOG_PRETTY", options.isTTY ?? false),
    },
    secrets,
    schemaEngineDebug: readBoolean(env, "SCHEMA_ENGINE_DEBUG", false),
  };
}

/**
 * The setting that sets each TalkJS client option. The client's errors name its options; the
 * config layer says them again under these names, so a user reads the setting to fix.
 */
export const TALKJS_OPTION_SETTINGS = {
  appId: "TALKJS_APP_ID",
  secretKey: "TALKJS_SECRET_KEY",
  baseUrl: "TALKJS_API_URL",
  authMode: "TALKJS_AUTH_MODE",
  restVersion: "TALKJS_REST_VERSION",
  "retry.maxAttempts": "TALKJS_RETRY_MAX_ATTEMPTS",
  "retry.maxTotalMs": "TALKJS_RETRY_MAX_TOTAL_MS",
  "rateLimit.perSecond": "TALKJS_RATE_LIMIT_PER_SECOND",
  "rateLimit.burst": "TALKJS_RATE_LIMIT_BURST",
  throttleGiveUpMs: "TALKJS_THROTTLE_GIVE_UP_MS",
  connections: "TALKJS_CONNECTIONS",
  maxConcurrency: "TALKJS_MAX_CONCURRENCY",
  headersTimeoutMs: "TALKJS_HEADERS_TIMEOUT_MS",
  bodyTimeoutMs: "TALKJS_BODY_TIMEOUT_MS",
  pageSize: "TALKJS_PAGE_SIZE",
} as const;

function settingOf(option: string): string | undefined {
  return Object.hasOwn(TALKJS_OPTION_SETTINGS, option)
    ? TALKJS_OPTION_SETTINGS[option as keyof typeof TALKJS_OPTION_SETTINGS]
    : undefined;
}

function readTalkJS(env: Env): TalkJSSettings {
  const optionalInt = (name: string): number | undefined => {
    const value = readInteger(env, name, -1, { min: 1 });
    return value === -1 ? undefined : value;
  };
  const perSecond = readString(env, "TALKJS_RATE_LIMIT_PER_SECOND");
  const settings: TalkJSSettings = {
    appId: requireString(env, "TALKJS_APP_ID", "Set it to your TalkJS app id (dashboard → Settings)."),
    secretKey: requireString(
      env,
      "TALKJS_SECRET_KEY",
      "Set it to the app's secret key (sk_live_… or sk_test_…) from the TalkJS dashboard.",
    ),
    baseUrl: readHttpUrl(env, "TALKJS_API_URL", "https://api.talkjs.com"),
    retry: {
      ...defined("maxAttempts", optionalInt("TALKJS_RETRY_MAX_ATTEMPTS")),
      ...defined("maxTotalMs", optionalInt("TALKJS_RETRY_MAX_TOTAL_MS")),
    },
    rateLimit: {
      ...defined(
        "perSecond",
        perSecond === undefined
          ? undefined
          : readNumber(env, "TALKJS_RATE_LIMIT_PER_SECOND", 0, { min: 0.01, max: 10_000 }),
      ),
      ...defined("burst", optionalInt("TALKJS_RATE_LIMIT_BURST")),
    },
  };
  const authMode = readString(env, "TALKJS_AUTH_MODE");
  if (authMode !== undefined) settings.authMode = authMode as AuthMode;
  const restVersion = readString(env, "TALKJS_REST_VERSION");
  if (restVersion !== undefined) settings.restVersion = restVersion;
  for (const key of [
    "connections",
    "maxConcurrency",
    "headersTimeoutMs",
    "bodyTimeoutMs",
    "pageSize",
    "throttleGiveUpMs",
  ] as const) {
    const value = optionalInt(TALKJS_OPTION_SETTINGS[key]);
    if (value !== undefined) settings[key] = value;
  }
  // Full validation now (auth mode, REST version, ranges), so a bad value stops the command
  // before it opens the database — named as the setting the user set, not the client's option.
  try {
    resolveClientOptions(settings);
  } catch (error) {
    const setting = error instanceof ConfigError ? settingOf(error.setting) : undefined;
    if (error instanceof ConfigError && setting !== undefined) throw new ConfigError(setting, error.reason);
    throw error;
  }
  return settings;
}

function defined<K extends string, V>(key: K, value: V | undefined): Partial<Record<K, V>> {
  return value === undefined ? {} : ({ [key]: value } as Record<K, V>);
}

/**
 * Reads a JSON config file: an object whose keys are setting names (as in the environment,
 * e.g. "DATABASE_URL") and whose values are strings, numbers or booleans.
 */
export function readConfigFile(
  path: string,
  /** How the file was named, which errors repeat: the flag or TALKJS_MIRROR_CONFIG. */
  via: "--config" | "TALKJS_MIRROR_CONFIG" = "--config",
): Record<string, string> {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (error) {
    throw new ConfigError(via, `cannot read ${path}: ${(error as Error).message}`);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new ConfigError(via, `${path} is not valid JSON: ${(error as Error).message}`);
  }
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    throw new ConfigError(via, `${path} must hold a JSON object of settings, e.g. {"DATABASE_URL": "…"}`);
  }
  const out: Record<string, string> = {};
  const known = knownSettings();
  for (const [key, v] of Object.entries(value)) {
    if (!known.has(key)) {
      // A misspelt key would otherwise be ignored, and the default used without a word.
      const guess = closestSetting(key);
      throw new ConfigError(
        via,
        `${path}: "${key}" is not a setting${guess ? `; did you mean ${guess}?` : " (see the settings table in README.md)"}`,
      );
    }
    if (typeof v !== "string" && typeof v !== "number" && typeof v !== "boolean") {
      throw new ConfigError(key, `in ${path} must be a string, number or boolean`);
    }
    out[key] = String(v);
  }
  return out;
}

/** File < environment < flags: the later layer wins for each setting it sets. */
export function layerSettings(...layers: Env[]): Env {
  const out: Record<string, string | undefined> = {};
  for (const layer of layers) {
    for (const [key, value] of Object.entries(layer)) if (value !== undefined) out[key] = value;
  }
  return out;
}
