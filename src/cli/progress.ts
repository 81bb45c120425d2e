// Live progress of a long run (backfill, reconcile, sync), fed by SyncContext.onProgress (the
// engine only reports counters; how they are shown is decided here, in the CLI).
// On an interactive terminal: one spinner line (ora) rewritten in place. Anywhere else (a
// container, CI, a pipe): a log line at a steady interval, so a multi-hour backfill shows it is
// alive without flooding the logs. The CLI chooses the mode; `--quiet` turns both off.
import ora, { type Ora } from "ora";
import type { Logger } from "pino";
import type { RunKind, RunProgress } from "../sync/run.ts";
import type { ClientStats } from "../talkjs/http.ts";
import { count, stopwatch } from "../units.ts";

export interface ProgressOptions {
  kind: RunKind;
  /** Spinner on `stream` (interactive terminal) or periodic log lines through `logger`. */
  mode: "tty" | "log";
  stream?: NodeJS.WritableStream;
  logger: Logger;
  /** The TalkJS client's counters (retries, 429s). */
  stats?: () => ClientStats;
  /** Log mode: ms between lines (default 15 s). */
  intervalMs?: number;
  now?: () => number;
}

export interface ProgressReporter {
  onProgress(progress: RunProgress): void;
  /** Writes a line now (the timer calls it; tests too). */
  tick(): void;
  stop(): void;
}

export interface ProgressSnapshot {
  pages: number;
  conversations: number;
  inserted: number;
  updated: number;
  unchanged: number;
  perSecond: number;
  elapsedMs: number;
  retries: number;
  rateLimited: number;
  /** Time every request was held by 429 pauses, ms. */
  pausedMs: number;
  /** Requests per second the client paces at now (cut by 429s, raised again by success). */
  currentRate: number;
}

export function snapshot(
  progress: RunProgress | null,
  startedAt: number,
  now: number,
  stats?: ClientStats,
): ProgressSnapshot {
  const elapsedMs = Math.max(0, now - (progress?.startedAt ?? startedAt));
  const conversations = progress?.fetched ?? 0;
  return {
    pages: progress?.pages ?? 0,
    conversations,
    inserted: progress?.inserted ?? 0,
    updated: progress?.updated ?? 0,
    unchanged: progress?.unchanged ?? 0,
    perSecond: elapsedMs > 0 ? Math.round(conversations / (elapsedMs / 1000)) : 0,
    elapsedMs,
    retries: stats?.retries ?? 0,
    rateLimited: stats?.rateLimited ?? 0,
    pausedMs: stats?.pausedMs ?? 0,
    currentRate: stats?.currentRate ?? 0,
  };
}

export function formatProgress(kind: RunKind, s: ProgressSnapshot): string {
  return (
    `${kind}: ${count(s.pages)} pages, ${count(s.conversations)} ${kind === "messages" || kind === "users" ? kind : "conversations"} ` +
    `(${count(s.inserted)} new, ${count(s.updated)} updated, ${count(s.unchanged)} unchanged), ` +
    `${count(s.perSecond)}/s, ${stopwatch(s.elapsedMs)} elapsed, ${count(s.retries)} retries, ${count(s.rateLimited)} × 429` +
    // Throttling shows only once TalkJS has throttled: then how long it held us, and the rate now.
    (s.rateLimited > 0
      ? ` (paused ${stopwatch(s.pausedMs)}, now ${count(Math.round(s.currentRate * 10) / 10)} requests/s)`
      : "")
  );
}

export function createProgressReporter(options: ProgressOptions): ProgressReporter {
  const now = options.now ?? Date.now;
  const startedAt = now();
  let last: RunProgress | null = null;
  const current = (): ProgressSnapshot => snapshot(last, startedAt, now(), options.stats?.());
  let spinner: Ora | null = null;
  let timer: NodeJS.Timeout | null = null;
  // The run being reported: a job's message pass follows its conversation pass.
  const kind = (): RunKind => last?.kind ?? options.kind;
  const tick = (): void => {
    const s = current();
    if (spinner) {
      // One line only: ora clears as many lines as the text wraps to, so keep it within the width.
      const width =
        (options.stream as { columns?: number } | undefined)?.columns ?? process.stderr.columns ?? 80;
      spinner.text = formatProgress(kind(), s).slice(0, Math.max(20, width - 3));
      // Show the new numbers now, not at the spinner's next frame.
      spinner.render();
    } else options.logger.info({ progress: s, job: kind() }, formatProgress(kind(), s));
  };
  if (options.mode === "tty") {
    spinner = ora({
      text: formatProgress(options.kind, current()),
      stream: options.stream ?? process.stderr,
      // The CLI already decided this is an interactive terminal.
      isEnabled: true,
      discardStdin: false,
    }).start();
    // Refresh elapsed time and rate between pages too (a slow or rate-limited page).
    timer = setInterval(tick, 1000);
  } else {
    timer = setInterval(tick, options.intervalMs ?? 15_000);
  }
  // Never keep the process alive just to report progress.
  timer.unref();
  return {
    onProgress(progress) {
      last = progress;
      if (spinner) tick();
    },
    tick,
    stop() {
      if (timer) clearInterval(timer);
      timer = null;
      spinner?.stop();
      spinner = null;
    },
  };
}
