// A job as the CLI and the worker run it: the app's run lock, the conversation pass of its kind,
// then (unless turned off) the message pass for the conversations that pass changed and the users
// pass (./users.ts) — one piece of code, so the one-shot commands and the container behave the same.

import { zeroCounts } from "../counts.ts";
import { MirrorError } from "../errors.ts";
import { type BackfillSummary, messagesPendingAfterPass, runBackfill } from "./backfill.ts";
import { type FilesJobOptions, type FilesSettings, type FilesSummary, runFilesJob } from "./files.ts";
import { runSync, type SyncSummary } from "./incremental.ts";
import { withRunLock } from "./lock.ts";
import { type MessagePassSummary, runMessagePass } from "./messages.ts";
import { type ReconcileSummary, runReconcile } from "./reconcile.ts";
import { clock, type SyncContext } from "./run.ts";
import {
  hasListedUsers,
  recordingUserIds,
  runNewUsers,
  runUsersListing,
  runUsersReconcile,
  type UsersPassSummary,
} from "./users.ts";
import { drainWebhookWork } from "./webhooks/consume.ts";

export type MirrorJobKind = "backfill" | "sync" | "reconcile";

/** The engine's settings, validated by the config layer (src/config) and passed in. */
export interface SyncSettings {
  clockSkewMs: number;
  maxDeleteShare: number;
  /** Mirror each conversation's messages after every conversation pass. */
  mirrorMessages: boolean;
  /** Conversations whose messages are fetched at once. */
  messageConcurrency: number;
  /** createdAt windows a backfill pass pages at once. */
  backfillConcurrency: number;
  /** Deep message pass: an unproven absence becomes a deletion only after this long (default 1 h). */
  confirmAfterMs?: number;
  /**
   * Mirror the app's users after the other passes (MIRROR_USERS; the config layer sets it, absent
   * means off so an engine caller opts in).
   */
  mirrorUsers?: boolean;
  /** Archiving the files messages point to (after the message pass, outside the run lock). */
  files?: FilesSettings | undefined;
}

export interface MirrorJobOptions {
  settings: SyncSettings;
  /** backfill: ignore a saved cursor and start a fresh pass. */
  restart?: boolean;
  /** reconcile: lift the mass-deletion guard (an operator's explicit decision). */
  allowMassDelete?: boolean;
  /** reconcile: re-read every conversation's whole message history (edits, deletions). */
  deepMessages?: boolean;
  /** Test seams of the files job (a failing disk). */
  filesJob?: FilesJobOptions;
}

export type MirrorJobSummary = (BackfillSummary | SyncSummary | ReconcileSummary) & {
  /** The message pass that followed, when messages are mirrored. */
  messages?: MessagePassSummary;
  /** The users pass that followed, when users are mirrored. */
  users?: UsersPassSummary;
  /** The files job that followed, when files are archived. */
  files?: FilesSummary;
  /** Why the files job stopped (e.g. FILES_DISK_FULL): it never fails the job itself. */
  filesError?: { code: string; message: string };
};

export async function runMirrorJob(
  ctx: SyncContext,
  kind: MirrorJobKind,
  options: MirrorJobOptions,
): Promise<MirrorJobSummary> {
  const summary = await runLockedJob(ctx, kind, options);
  const files = options.settings.files;
  if (!options.settings.mirrorMessages || !files?.enabled) return summary;
  // After the lock is released: downloads may take long and must not hold up the next sync.
  try {
    return { ...summary, files: await runFilesJob(ctx, files, options.filesJob) };
  } catch (error) {
    if (ctx.signal?.aborted) throw error;
    const code = error instanceof MirrorError ? error.code : "UNEXPECTED";
    const message = error instanceof Error ? error.message : String(error);
    ctx.logger.error({ code, err: message }, "files job stopped; the mirror itself is up to date");
    return { ...summary, filesError: { code, message } };
  }
}

function runLockedJob(
  ctx: SyncContext,
  kind: MirrorJobKind,
  options: MirrorJobOptions,
): Promise<MirrorJobSummary> {
  const { settings } = options;
  // A sync GETs only the users its passes wrote that are new to the mirror: note them on the way.
  const seenUsers = new Set<string>();
  const passCtx =
    settings.mirrorUsers === true && kind === "sync"
      ? { ...ctx, store: recordingUserIds(ctx.store, seenUsers) }
      : ctx;
  // The body gets a signal that also fires when the run lock is lost (./lock.ts).
  return withRunLock(passCtx, kind, async (locked) => {
    const summary = await conversationsAndMessages(locked, kind, options);
    await drainQueuedWebhooks({ ...ctx, signal: locked.signal }, settings);
    if (settings.mirrorUsers !== true) return summary;
    const usersCtx = { ...ctx, signal: locked.signal };
    const users =
      kind === "reconcile"
        ? await runUsersReconcile(usersCtx, {
            maxDeleteShare: settings.maxDeleteShare,
            allowMassDelete: options.allowMassDelete === true,
          })
        : kind === "backfill" || !(await hasListedUsers(usersCtx))
          ? await runUsersListing(usersCtx)
          : await runNewUsers(usersCtx, seenUsers);
    return { ...summary, users };
  });
}

/**
 * Fetches webhook work queued while no worker held the lock (the job holds it now). An item whose
 * fetch fails stays queued for the next run or the worker; it never fails the job it rides on.
 */
async function drainQueuedWebhooks(ctx: SyncContext, settings: MirrorJobOptions["settings"]): Promise<void> {
  try {
    await drainWebhookWork(ctx, {
      mirrorUsers: settings.mirrorUsers === true,
      mirrorMessages: settings.mirrorMessages,
      concurrency: settings.messageConcurrency,
      maxItems: 1_000,
    });
  } catch (error) {
    if (ctx.signal?.aborted) throw error;
    ctx.logger.warn(
      {
        code: error instanceof MirrorError ? error.code : "UNEXPECTED",
        err: error instanceof Error ? error.message : String(error),
      },
      "queued webhook work not applied yet; it stays queued for the next run",
    );
  }
}

async function conversationsAndMessages(
  ctx: SyncContext,
  kind: MirrorJobKind,
  options: MirrorJobOptions,
): Promise<MirrorJobSummary> {
  const { settings } = options;
  const messageOptions = {
    deep: kind === "reconcile" && options.deepMessages === true,
    concurrency: settings.messageConcurrency,
    deletions: {
      maxDeleteShare: settings.maxDeleteShare,
      allowMassDelete: options.allowMassDelete === true,
      ...(settings.confirmAfterMs !== undefined ? { confirmAfterMs: settings.confirmAfterMs } : {}),
    },
  };
  // A backfill killed during its message pass: the conversation pass completed (and is recorded),
  // so the resume goes straight to the pending messages instead of listing everything again.
  if (kind === "backfill" && !options.restart && settings.mirrorMessages) {
    const completedAt = await messagesPendingAfterPass(ctx);
    if (completedAt) {
      ctx.logger.info(
        { conversationPassCompletedAt: completedAt.toISOString() },
        "backfill resuming its message pass (the conversation pass had completed)",
      );
      const messages = await runMessagePass(ctx, messageOptions);
      return {
        kind: "backfill",
        runId: messages.runId,
        ...zeroCounts(),
        startedAt: clock(ctx),
        durationMs: 0,
        resumed: true,
        windows: 0,
        conversationPassCompletedAt: completedAt.toISOString(),
        messages,
      };
    }
  }
  const summary: BackfillSummary | SyncSummary | ReconcileSummary =
    kind === "backfill"
      ? await runBackfill(ctx, {
          restart: options.restart === true,
          clockSkewMs: settings.clockSkewMs,
          concurrency: settings.backfillConcurrency,
        })
      : kind === "sync"
        ? await runSync(ctx, {
            clockSkewMs: settings.clockSkewMs,
            backfillConcurrency: settings.backfillConcurrency,
          })
        : await runReconcile(ctx, {
            maxDeleteShare: settings.maxDeleteShare,
            allowMassDelete: options.allowMassDelete === true,
          });
  if (!settings.mirrorMessages) return summary;
  const messages = await runMessagePass(ctx, messageOptions);
  return { ...summary, messages };
}
