// The restore settings (RESTORE_TALKJS_*, RESTORE_IMPORT_*): the target app's credentials and how
// its import endpoint is fed. The target client copies the source client's tuning (timeouts,
// retries, rate limit) and has its own governor, because TalkJS limits each app separately.
import { ConfigError } from "../errors.ts";
import type { ImportShape } from "../sync/restore/types.ts";
import { type Env, readChoice, readHttpUrl, readInteger, readString } from "./env.ts";
import type { TalkJSSettings } from "./index.ts";

export const RESTORE_DEFAULTS = {
  importShape: "documented" as ImportShape,
  /** The documented batch limit of the import endpoint (TalkJS's own script sends 100). */
  batchSize: 10,
} as const;

export interface RestoreSettings {
  /** The target app's client settings (never printed: it holds the target's secret key). */
  target: TalkJSSettings;
  importShape: ImportShape;
  batchSize: number;
  /** The target is the source app itself (allowed only with --into-source). */
  intoSource: boolean;
}

/**
 * Reads the target's settings. RESTORE_TALKJS_APP_ID names the target (the `--to-app` flag sets
 * it); its key is RESTORE_TALKJS_SECRET_KEY, or the source's key when the target IS the source.
 */
export function readRestoreSettings(
  env: Env,
  source: Omit<TalkJSSettings, "secretKey"> & { secretKey?: string | undefined },
): RestoreSettings {
  const appId = readString(env, "RESTORE_TALKJS_APP_ID");
  if (appId === undefined)
    throw new ConfigError("RESTORE_TALKJS_APP_ID", "Name the app to restore into (--to-app ID).");
  const intoSource = appId === source.appId;
  const secretKey =
    readString(env, "RESTORE_TALKJS_SECRET_KEY") ?? (intoSource ? source.secretKey : undefined);
  if (secretKey === undefined)
    throw new ConfigError(
      "RESTORE_TALKJS_SECRET_KEY",
      `Set it to the secret key of the target app ${appId} (sk_live_… or sk_test_…).`,
    );
  const { secretKey: _sourceKey, ...tuning } = source;
  return {
    target: {
      ...tuning,
      appId,
      secretKey,
      baseUrl: readHttpUrl(env, "RESTORE_TALKJS_API_URL", source.baseUrl ?? "https://api.talkjs.com"),
    },
    importShape: readChoice(
      env,
      "RESTORE_IMPORT_SHAPE",
      ["documented", "script"],
      RESTORE_DEFAULTS.importShape,
    ),
    batchSize: readInteger(env, "RESTORE_IMPORT_BATCH_SIZE", RESTORE_DEFAULTS.batchSize, {
      min: 1,
      max: 1000,
    }),
    intoSource,
  };
}
