// A job as the CLI and the worker run it: the app's run lock, the conversation pass of its kind,
// then (unless turned off) the message pass for the conversations that pass changed — one piece of
// code, so the one-shot commands and the container behave the same.
import { zeroCounts } from "../counts.ts";
import { type BackfillSummary, messagesPendingAfterPass, runBackfill } from "./backfill.ts";
import { runSync, type SyncSummary } from "./incremental.ts";
import { withRunLock } from "./lock.ts";
import { type MessagePassSummary, runMessagePass } from "./messages.ts";
import { type ReconcileSummary, runReconcile } from "./reconcile.ts";
import { clock, type SyncContext } from "./run.ts";

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
}

export interface MirrorJobOptions {
  settings: SyncSettings;
  /** backfill: ignore a saved cursor and start a fresh pass. */
  restart?: boolean;
  /** reconcile: lift the mass-deletion guard (an operator's explicit decision). */
  allowMassDelete?: boolean;
  /** reconcile: re-read every conversation's whole message history (edits, deletions). */
  deepMessages?: boolean;
}

export type MirrorJobSummary = (BackfillSummary | SyncSummary | ReconcileSummary) & {
  /** The message pass that followed, when messages are mirrored. */
  messages?: MessagePassSummary;
};

export function runMirrorJob(
  ctx: SyncContext,
  kind: MirrorJobKind,
  options: MirrorJobOptions,
): Promise<MirrorJobSummary> {
  const { settings } = options;
  return withRunLock(ctx, kind, async () => {
    if (kind === "backfill" && !options.restart && settings.mirrorMessages) {
      const completedAt = await messagesPendingAfterPass(ctx);
      if (completedAt) {
        ctx.logger.info(
          { conversationPassCompletedAt: completedAt.toISOString() },
          "backfill resuming its message pass (the conversation pass had completed)",
        );
        const messages = await runMessagePass(ctx, { concurrency: settings.messageConcurrency });
        const now = clock(ctx);
        return {
          kind: "backfill",
          runId: messages.runId,
          ...zeroCounts(),
          startedAt: now,
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
    const messages = await runMessagePass(ctx, {
      deep: kind === "reconcile" && options.deepMessages === true,
      concurrency: settings.messageConcurrency,
      deletions: {
        maxDeleteShare: settings.maxDeleteShare,
        allowMassDelete: options.allowMassDelete === true,
        ...(settings.confirmAfterMs !== undefined ? { confirmAfterMs: settings.confirmAfterMs } : {}),
      },
    });
    return { ...summary, messages };
  });
}
