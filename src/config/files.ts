// The files settings (MIRROR_FILES, FILES_DIR, …): read once here, passed to the engine as
// SyncSettings.files.
import path from "node:path";
import type { DatabaseConfig } from "../store/database-url.ts";
import type { FilesSettings } from "../sync/files.ts";
import { type Env, readBoolean, readInteger, readString } from "./env.ts";

export const FILES_DEFAULTS = {
  concurrency: 4,
  maxBytes: 100 * 1024 * 1024,
  goneAfterDays: 7,
} as const;

/**
 * FILES_DIR defaults to a folder beside a SQLite file (`./talkjs-mirror.db` →
 * `./talkjs-mirror-files/`). A PostgreSQL mirror has no natural place on disk, so without FILES_DIR
 * files are not downloaded (their references are still recorded, and setting FILES_DIR later
 * archives them all); the container sets FILES_DIR=/data/files.
 */
export function defaultFilesDir(database: DatabaseConfig): string | undefined {
  if (database.provider !== "sqlite" || !database.filePath) return undefined;
  const { dir, name } = path.parse(database.filePath);
  return path.join(dir, `${name}-files`);
}

export function readFilesSettings(env: Env, database: DatabaseConfig): FilesSettings {
  const configured = readString(env, "FILES_DIR");
  const dir = configured !== undefined ? path.resolve(configured) : defaultFilesDir(database);
  return {
    enabled: readBoolean(env, "MIRROR_FILES", true) && dir !== undefined,
    dir,
    concurrency: readInteger(env, "FILES_CONCURRENCY", FILES_DEFAULTS.concurrency, { min: 1, max: 64 }),
    maxBytes: readInteger(env, "FILES_MAX_BYTES", FILES_DEFAULTS.maxBytes, { min: 1 }),
    allowPrivateHosts: readBoolean(env, "FILES_ALLOW_PRIVATE_HOSTS", false),
    goneAfterDays: readInteger(env, "FILES_GONE_AFTER_DAYS", FILES_DEFAULTS.goneAfterDays, {
      min: 0,
      max: 3650,
    }),
  };
}
