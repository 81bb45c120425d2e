// The one place the environment is read. The CLI calls loadConfig(process.env) once and passes
// the validated result down; nothing below the CLI reads process.env.
import type { DatabaseConfig } from "../store/database-url.ts";
import { parseDatabaseUrl } from "../store/database-url.ts";
import { type Env, readBoolean, readChoice, readInteger, readString, requireString } from "./env.ts";

export type { Env } from "./env.ts";

const LOG_LEVELS = ["fatal", "error", "warn", "info", "debug", "trace", "silent"] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export const DEFAULT_DATABASE_URL = "file:./talkjs-mirror.db";

export interface TalkJSCredentials {
  appId: string;
  secretKey: string;
}

export interface AppConfig {
  /** Absent when the command does not talk to TalkJS (e.g. `migrate`). */
  talkjs: TalkJSCredentials | undefined;
  database: DatabaseConfig;
  log: { level: LogLevel; pretty: boolean };
  /** Values that must never appear in output: the TalkJS secret key, database passwords. */
  secrets: string[];
}

export function loadConfig(env: Env, options: { requireTalkJS: boolean; isTTY?: boolean }): AppConfig {
  const talkjs = options.requireTalkJS
    ? {
        appId: requireString(env, "TALKJS_APP_ID", "Set it to your TalkJS app id (dashboard → Settings)."),
        secretKey: requireString(
          env,
          "TALKJS_SECRET_KEY",
          "Set it to the app's secret key (sk_live_… or sk_test_…) from the TalkJS dashboard.",
        ),
      }
    : undefined;
  const database = parseDatabaseUrl(readString(env, "DATABASE_URL") ?? DEFAULT_DATABASE_URL, {
    poolSize: readInteger(env, "DATABASE_POOL_SIZE", 5, { min: 1, max: 100 }),
  });
  const secrets = [talkjs?.secretKey, database.password].filter((s): s is string => !!s);
  return {
    talkjs,
    database,
    log: {
      level: readChoice(env, "LOG_LEVEL", LOG_LEVELS, "info"),
      pretty: readBoolean(env, "LOG_PRETTY", options.isTTY ?? false),
    },
    secrets,
  };
}
