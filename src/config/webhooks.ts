// Settings of the webhook receiver (`run` with WEBHOOK_PORT set). Off unless WEBHOOK_PORT is set.
import { ConfigError } from "../errors.ts";
import type { DatabaseConfig } from "../store/database-url.ts";
import { inboxPathBeside } from "../store/webhook-inbox.ts";
import { type Env, readInteger, readString } from "./env.ts";

export const WEBHOOK_DEFAULTS = { host: "0.0.0.0", retentionDays: 7 } as const;

export interface WebhookSettings {
  host: string;
  /** 0 picks a free port (tests). */
  port: number;
  /** The current secret key first, then TALKJS_SECRET_KEY_PREVIOUS during a rotation. */
  secrets: string[];
  /** The inbox file (SQLite, its own file; see src/store/webhook-inbox.ts). */
  inboxPath: string;
  /** Processed events are deleted after this many days (their bodies hold message text). */
  retentionDays: number;
}

export function loadWebhookSettings(
  env: Env,
  database: DatabaseConfig,
  secretKey: string | undefined,
): WebhookSettings | undefined {
  if (readString(env, "WEBHOOK_PORT") === undefined) return undefined;
  const port = readInteger(env, "WEBHOOK_PORT", 0, { min: 0, max: 65_535 });
  if (!secretKey) {
    throw new ConfigError("WEBHOOK_PORT", "webhooks are verified with TALKJS_SECRET_KEY; set it too.");
  }
  const previous = readString(env, "TALKJS_SECRET_KEY_PREVIOUS");
  const inboxPath =
    readString(env, "WEBHOOK_INBOX_PATH") ??
    (database.filePath !== undefined ? inboxPathBeside(database.filePath) : undefined);
  if (inboxPath === undefined) {
    throw new ConfigError(
      "WEBHOOK_INBOX_PATH",
      "is required with a PostgreSQL mirror: the file (on a persistent volume) where received webhooks are stored before they are acknowledged.",
    );
  }
  return {
    host: readString(env, "WEBHOOK_HOST") ?? WEBHOOK_DEFAULTS.host,
    port,
    secrets: previous ? [secretKey, previous] : [secretKey],
    inboxPath,
    retentionDays: readInteger(env, "WEBHOOK_EVENTS_RETENTION_DAYS", WEBHOOK_DEFAULTS.retentionDays, {
      min: 1,
      max: 3_650,
    }),
  };
}
