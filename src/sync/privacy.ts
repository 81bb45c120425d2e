// The privacy commands' engine: `forget` (erase one user's personal data from the mirror, durably,
// or lift that) and `purge` (hard-delete rows soft-deleted before a date). Both hold the app's run
// lock, so no sync writes a page between the erasure and its blanking; both only count what they
// would do unless told to apply.
import { ConfigError } from "../errors.ts";
import type { ForgetCounts, PurgeCounts } from "../store/privacy.ts";
import { BlobDir } from "./file-blobs.ts";
import { withRunLock } from "./lock.ts";
import type { SyncContext } from "./run.ts";

type Ctx = Pick<SyncContext, "store" | "appId" | "logger" | "now">;

export interface ForgetSummary {
  userId: string;
  /** false: a dry run, nothing changed. */
  applied: boolean;
  /** `--undo`: whether an erasure was lifted. */
  undone?: boolean;
  counts?: ForgetCounts;
}

export function forgetUser(
  ctx: Ctx,
  userId: string,
  /** filesDir: FILES_DIR, where the archived files only this user's messages point to are removed. */
  options: { apply: boolean; undo?: boolean; filesDir?: string | undefined },
): Promise<ForgetSummary> {
  return withRunLock(ctx, "forget", async () => {
    if (options.undo) {
      const undone = options.apply ? await ctx.store.privacy.undo(ctx.appId, userId) : false;
      if (undone) ctx.logger.info({ userId }, "erasure lifted: later passes store this user's data again");
      return { userId, applied: options.apply, undone };
    }
    const at = new Date((ctx.now ?? Date.now)());
    await requireFilesDir(
      options,
      async () => (await ctx.store.privacy.forget(ctx.appId, userId, { apply: false, at })).counts.files,
      (n) =>
        `is needed to erase user "${userId}": ${n} archived files only their messages point to must be removed from it`,
    );
    const { counts, removedBlobs } = await ctx.store.privacy.forget(ctx.appId, userId, {
      apply: options.apply,
      at,
    });
    await removeBlobFiles(options.filesDir, removedBlobs);
    // The user id is kept in the mirror anyway; no personal data is logged.
    if (options.apply) ctx.logger.info({ userId, ...counts }, "user erased from the mirror");
    return { userId, applied: options.apply, counts };
  });
}

export interface PurgeSummary extends PurgeCounts {
  deletedBefore: string;
  applied: boolean;
}

export function purgeDeleted(
  ctx: Ctx,
  before: Date,
  /** filesDir: FILES_DIR, where the archived files only the purged messages point to are removed. */
  options: { apply: boolean; filesDir?: string | undefined },
): Promise<PurgeSummary> {
  return withRunLock(ctx, "purge", async () => {
    await requireFilesDir(
      options,
      async () => (await ctx.store.privacy.purge(ctx.appId, before, { apply: false })).counts.files,
      (n) =>
        `is needed to purge: ${n} archived files only the purged messages point to must be removed from it`,
    );
    const { counts, removedBlobs } = await ctx.store.privacy.purge(ctx.appId, before, {
      apply: options.apply,
    });
    await removeBlobFiles(options.filesDir, removedBlobs);
    return { ...counts, deletedBefore: before.toISOString(), applied: options.apply };
  });
}

/**
 * forget and purge with apply: without FILES_DIR the archived files they would remove could not
 * be removed from disk, and once their rows are gone nothing would point to them any more: refuse
 * (before anything changes) rather than leave them behind.
 */
async function requireFilesDir(
  options: { apply: boolean; filesDir?: string | undefined },
  filesToRemove: () => Promise<number>,
  why: (files: number) => string,
): Promise<void> {
  if (!options.apply || options.filesDir !== undefined) return;
  const files = await filesToRemove();
  if (files > 0) throw new ConfigError("FILES_DIR", why(files));
}

/**
 * The bytes of the blobs the store removed, after its commit: a crash in between leaves unlisted
 * bytes (re-running cannot find them any more), never a listed file without its bytes.
 */
async function removeBlobFiles(filesDir: string | undefined, removedBlobs: readonly string[]): Promise<void> {
  if (removedBlobs.length === 0 || filesDir === undefined) return;
  const dir = new BlobDir(filesDir);
  for (const sha256 of removedBlobs) await dir.remove(sha256);
}

/** "90d", "12h", "30m": an age; the flag's name is in the error. */
export function parseAge(flag: string, text: string): number {
  const m = /^(\d+)\s*(d|h|m)$/.exec(text.trim());
  if (!m) throw new ConfigError(flag, `must be an age such as 90d, 12h or 30m, got "${text}"`);
  const unit = { d: 86_400_000, h: 3_600_000, m: 60_000 }[m[2] as "d" | "h" | "m"];
  return Number(m[1]) * unit;
}
