// Every setting name talkjs-mirror reads, so a config file's misspelt key (TALKJS_APPID) is an
// error with a suggestion instead of being silently ignored. test/operator/config-keys.test.ts
// checks that this list covers every setting the code reads: add a new setting here too.
import { TALKJS_OPTION_SETTINGS } from "./index.ts";

const OWN_SETTINGS = [
  "TALKJS_APP_ID",
  "TALKJS_SECRET_KEY",
  "DATABASE_URL",
  "DATABASE_POOL_SIZE",
  "SQLITE_BUSY_TIMEOUT_MS",
  "SYNC_CLOCK_SKEW_MS",
  "RECONCILE_MAX_DELETE_SHARE",
  "MIRROR_MESSAGES",
  "MESSAGES_CONCURRENCY",
  "BACKFILL_CONCURRENCY",
  "LOG_LEVEL",
  "LOG_PRETTY",
  "SCHEMA_ENGINE_DEBUG",
  "SYNC_CRON",
  "RECONCILE_CRON",
  "CRON_TIMEZONE",
  "METRICS_HOST",
  "METRICS_PORT",
  "READY_MAX_STALENESS_MS",
  "SHUTDOWN_GRACE_MS",
  "SYNC_RUNS_RETENTION_DAYS",
  "RECONCILE_CONFIRM_AFTER",
  "MIRROR_USERS",
  "MIRROR_FILES",
  "FILES_DIR",
  "FILES_CONCURRENCY",
  "FILES_MAX_BYTES",
  "FILES_ALLOW_PRIVATE_HOSTS",
  "FILES_GONE_AFTER_DAYS",
  "FILES_CRON",
  "WEBHOOK_PORT",
  "WEBHOOK_HOST",
  "WEBHOOK_INBOX_PATH",
  "WEBHOOK_EVENTS_RETENTION_DAYS",
  "TALKJS_SECRET_KEY_PREVIOUS",
  "RESTORE_TALKJS_APP_ID",
  "RESTORE_TALKJS_SECRET_KEY",
  "RESTORE_TALKJS_API_URL",
  "RESTORE_IMPORT_SHAPE",
  "RESTORE_IMPORT_BATCH_SIZE",
] as const;

/** Setting names a config file may hold: ours plus the TalkJS client's (TALKJS_OPTION_SETTINGS). */
export function knownSettings(): Set<string> {
  return new Set<string>([...OWN_SETTINGS, ...Object.values(TALKJS_OPTION_SETTINGS)]);
}

/** Edit distance (insertions, deletions, substitutions), for "did you mean". */
function distance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      row[j] = Math.min(
        (prev[j] ?? 0) + 1,
        (row[j - 1] ?? 0) + 1,
        (prev[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1),
      );
    }
    prev = row;
  }
  return prev[b.length] ?? 0;
}

/** The known setting `name` most likely meant (a typo, a missing underscore), if any is close. */
export function closestSetting(name: string): string | undefined {
  const squash = (s: string) => s.toUpperCase().replaceAll("_", "");
  let best: { name: string; d: number } | undefined;
  for (const known of knownSettings()) {
    const d = squash(known) === squash(name) ? 0 : distance(name.toUpperCase(), known);
    if (!best || d < best.d) best = { name: known, d };
  }
  return best && best.d <= Math.max(2, Math.floor(name.length / 4)) ? best.name : undefined;
}
