// Human-readable output of the one-shot commands (the --json output is the summary object itself).
// The engine (src/sync) returns summaries and status as data; turning them into sentences is the
// CLI's job, so the worker and library callers never carry presentation they do not use.
import type { BackfillSummary } from "../sync/backfill.ts";
import type { SyncSummary } from "../sync/incremental.ts";
import type { MirrorJobSummary } from "../sync/jobs.ts";
import type { MessagePassSummary } from "../sync/messages.ts";
import type { ReconcileSummary } from "../sync/reconcile.ts";
import type { RunSummary } from "../sync/run.ts";
import type { MirrorStatus } from "../sync/status.ts";
import { bytes, count, duration, perSecond, stopwatch } from "../units.ts";

/** "N conversations in P pages (… new, … updated, … unchanged) in 3 min 21 s, 240/s" */
function describeRun(s: RunSummary): string {
  const rate = perSecond(s.fetched, s.durationMs);
  return (
    `${count(s.fetched)} conversations in ${count(s.pages)} pages (${count(s.inserted)} new, ${count(s.updated)} updated, ` +
    `${count(s.unchanged)} unchanged) in ${duration(s.durationMs, "exact")}, ${count(rate)}/s`
  );
}

export function formatRunSummary(summary: MirrorJobSummary): string {
  const lines: string[] = [];
  if (summary.kind === "backfill") {
    const b = summary as BackfillSummary;
    const windows = b.windows > 1 ? ` (${b.windows} windows)` : "";
    if (b.conversationPassCompletedAt) {
      lines.push(
        `Backfill resumed: its conversation pass had completed at ${b.conversationPassCompletedAt}; only the pending messages were fetched.`,
      );
    } else {
      lines.push(`Backfill ${b.resumed ? "resumed and finished" : "finished"}${windows}: ${describeRun(b)}.`);
    }
  } else if (summary.kind === "sync") {
    const s = summary as SyncSummary;
    if (s.backfill) lines.push(formatRunSummary(s.backfill));
    lines.push(
      `Sync finished: ${describeRun(s)}; ${count(s.created)} created and ${count(s.active)} with new messages since the last pass.`,
    );
    lines.push(`Next pass from: created ${s.watermarks.created}, activity ${s.watermarks.activity}.`);
  } else {
    const r = summary as ReconcileSummary;
    lines.push(
      `Reconcile finished: ${describeRun(r)}; ${count(r.candidates)} absent from the listing, ${count(r.markedDeleted)} confirmed deleted and marked.`,
    );
  }
  if (summary.messages) lines.push(formatMessagePass(summary.messages));
  if (summary.files) {
    const f = summary.files;
    lines.push(
      `Files: ${count(f.stored)} stored (${count(f.downloaded)} downloaded, ${bytes(f.bytes)}), ${count(f.failed)} failed, ` +
        `${count(f.gone)} gone, ${count(f.skippedTooLarge)} too large, in ${duration(f.durationMs, "exact")}.`,
    );
  }
  if (summary.filesError)
    lines.push(`Files not archived: [${summary.filesError.code}] ${summary.filesError.message}`);
  return lines.join("\n");
}

function formatMessagePass(m: MessagePassSummary): string {
  const rate = perSecond(m.fetched, m.durationMs);
  return (
    `Messages${m.deep ? " (full histories)" : ""}: ${count(m.fetched)} messages of ${count(m.conversations)} conversations ` +
    `in ${count(m.pages)} pages (${count(m.inserted)} new, ${count(m.updated)} updated, ${count(m.unchanged)} unchanged) ` +
    `in ${duration(m.durationMs, "exact")}, ${count(rate)}/s` +
    (m.deep ? `; ${count(m.markedDeleted)} deleted at TalkJS and marked` : "") +
    (m.vanished > 0 ? `; ${count(m.vanished)} conversations gone before their messages were read` : "") +
    "."
  );
}

function formatFileStatus(s: MirrorStatus): string {
  const f = s.files.byStatus;
  return (
    `Files: ${count(f.stored)} stored (${count(s.files.blobs)} distinct, ${bytes(s.files.storedBytes)}), ` +
    `${count(f.pending)} pending, ${count(f.failed)} failed (${bytes(s.files.pendingBytes)} to fetch), ` +
    `${count(f.gone)} gone, ${count(f.skipped_too_large)} too large.`
  );
}

export function formatStatus(s: MirrorStatus): string {
  const lines = [
    `App ${s.appId}: ${count(s.live)} live conversations, ${count(s.deleted)} deleted, ${count(s.participants)} participations.`,
    `Messages: ${count(s.messages.live)} mirrored, ${count(s.messages.deleted)} deleted.`,
    formatFileStatus(s),
    `Backfill: ${s.backfillComplete ? "complete" : "not complete yet"}.`,
    `Newest mirrored activity: ${s.newestActivityAt ?? "—"}${s.lagMs === null ? "" : ` (lag ${duration(s.lagMs, "exact")})`}.`,
    ...(s.webhooks.queued > 0
      ? [
          `Webhooks: ${count(s.webhooks.queued)} ${s.webhooks.queued === 1 ? "fetch" : "fetches"} queued, the oldest waiting ${duration(s.webhooks.lagMs, "exact")} (webhook lag).`,
        ]
      : []),
    "",
    "stream      watermark                  last success               last error",
  ];
  for (const st of s.streams) {
    lines.push(
      `${st.stream.padEnd(11)} ${(st.watermark ?? "—").padEnd(26)} ${(st.lastSuccessAt ?? "—").padEnd(26)} ${
        st.lastError ? `${st.lastErrorAt} ${st.lastError}` : "—"
      }${st.inProgress ? "  (pass in progress)" : ""}`,
    );
  }
  lines.push("", "last runs:");
  for (const kind of ["backfill", "sync", "reconcile", "messages"] as const) {
    const r = s.lastRuns[kind];
    lines.push(
      r
        ? `  ${kind.padEnd(10)} #${r.id} ${r.status.padEnd(9)} ${r.startedAt}  fetched ${count(r.fetched)}, new ${count(r.inserted)}, updated ${count(r.updated)}, deleted ${count(r.markedDeleted)}${formatThrottle(r)}${r.error ? `  error: ${r.error}` : ""}`
        : `  ${kind.padEnd(10)} never`,
    );
  }
  const r = s.lastRestore;
  if (r)
    lines.push(
      `  ${"restore".padEnd(10)} #${r.id} ${r.status.padEnd(9)} ${r.startedAt}${r.targetAppId ? `  into ${r.targetAppId}` : ""}  user messages ${count(r.fetched)}, imported ${count(r.inserted)}, already there ${count(r.unchanged)}${formatThrottle(r)}${r.error ? `  error: ${r.error}` : ""}`,
    );
  return lines.join("\n");
}

/** ", 12 × 429, paused 0:14, ended at 4.5 requests/s": only for a run TalkJS throttled. */
export function formatThrottle(r: { rateLimited: number; pausedMs: number; endRate: number | null }): string {
  if (r.rateLimited <= 0) return "";
  const rate = r.endRate === null ? "" : `, ended at ${count(Math.round(r.endRate * 10) / 10)} requests/s`;
  return `, ${count(r.rateLimited)} × 429, paused ${stopwatch(r.pausedMs)}${rate}`;
}
