// The files job: downloads every file mirrored messages point to into the content-addressed store
// (./file-blobs.ts) through its own HTTP agent (./file-fetch.ts). It runs after the message pass
// and on its own schedule in the worker, outside the run lock (it writes only message_files,
// file_blobs and FILES_DIR, and a second files job racing it does no harm: same bytes, same name).
// Resumable by construction: what is not stored stays pending or failed with a due time, and the
// first run after an upgrade registers the files of every message mirrored before (once, with a
// checkpoint).
import { MirrorError } from "../errors.ts";
import { withLogContext } from "../log.ts";
import type { DueFile, FileOutcome } from "../store/store.ts";
import { BlobDir, type BlobDirOptions, isDiskFull, TooLargeError } from "./file-blobs.ts";
import { FileFetcher, RefusedUrlError } from "./file-fetch.ts";
import { clock, type RunContext } from "./run.ts";
import { FILES_HISTORY_STREAM, FILES_STREAM } from "./streams.ts";

/** The files settings, validated by the config layer. */
export interface FilesSettings {
  /** MIRROR_FILES and a FILES_DIR to write to. */
  enabled: boolean;
  dir: string | undefined;
  concurrency: number;
  maxBytes: number;
  allowPrivateHosts: boolean;
  /** A file answering 403/404 for this long becomes `gone` (0: at the first such answer). */
  goneAfterDays: number;
}

export interface FilesSummary {
  /** References settled as stored in this run (downloaded or already archived). */
  stored: number;
  /** Of those, new files written to disk. */
  downloaded: number;
  bytes: number;
  failed: number;
  gone: number;
  skippedTooLarge: number;
  /** Files registered by the history scan in this run. */
  historyScanned: boolean;
  durationMs: number;
}

export interface FilesJobOptions {
  /** Test seam: a failing disk. */
  blobDir?: BlobDirOptions;
}

const DAY = 86_400_000;
const BATCH = 100;
const HISTORY_PAGE = 1_000;
/** Failed downloads are tried again after 5 min, doubling up to a day. */
const RETRY_BASE_MS = 5 * 60_000;
const RETRY_MAX_MS = DAY;
/** Far future for rows no pass should pick up again on its own (skipped, gone). */
const NEVER = new Date(Date.UTC(9999, 0, 1));

const HTML_FILENAME = /\.x?html?$/i;

/** Why a response is not the file, or null. */
function notTheFile(contentType: string | null, filename: string | null, head: Uint8Array): string | null {
  if (filename !== null && HTML_FILENAME.test(filename)) return null;
  const type = contentType?.toLowerCase() ?? "";
  const start = Buffer.from(head.subarray(0, 64)).toString("latin1").trimStart().toLowerCase();
  if (type.startsWith("text/html") || start.startsWith("<!doctype html") || start.startsWith("<html"))
    return "HTML page instead of a file";
  return null;
}

export function retryDelay(attempts: number): number {
  return Math.min(RETRY_BASE_MS * 2 ** Math.min(attempts, 20), RETRY_MAX_MS);
}

/** Runs the files job as a recorded run ("files"). Throws FILES_DISK_FULL when the disk is full. */
export async function runFilesJob(
  ctx: RunContext,
  settings: FilesSettings,
  options: FilesJobOptions = {},
): Promise<FilesSummary> {
  const dir = settings.dir;
  if (!settings.enabled || dir === undefined)
    throw new MirrorError("FILES_OFF", "files are not archived: MIRROR_FILES is off or FILES_DIR is not set");
  const summary: FilesSummary = {
    stored: 0,
    downloaded: 0,
    bytes: 0,
    failed: 0,
    gone: 0,
    skippedTooLarge: 0,
    historyScanned: false,
    durationMs: 0,
  };
  const blobs = new BlobDir(dir, options.blobDir);
  const fetcher = new FileFetcher({
    connections: settings.concurrency,
    allowPrivateHosts: settings.allowPrivateHosts,
  });
  const startedAt = clock(ctx);
  // Not a sync_runs row: that ledger is the run lock's (one writer at a time), and this job runs
  // beside the locked ones. Its last success and error are on sync_state "files", its counts in
  // message_files (status, report).
  return withLogContext({ job: "files" }, async () => {
    try {
      const removed = await blobs.prepare();
      if (removed > 0) ctx.logger.warn({ removed }, "removed temporary files of an interrupted files run");
      summary.historyScanned = await registerHistory(ctx);
      await downloadDue(ctx, settings, blobs, fetcher, summary);
      summary.durationMs = clock(ctx) - startedAt;
      await ctx.store.saveSyncState(ctx.appId, FILES_STREAM, {
        cursor: null,
        lastSuccessAt: new Date(clock(ctx)),
      });
      ctx.logger.info(summary, "files finished");
      return summary;
    } catch (error) {
      const message = error instanceof MirrorError ? `[${error.code}] ${error.message}` : String(error);
      await ctx.store.recordSyncError(ctx.appId, FILES_STREAM, message, new Date(clock(ctx))).catch(() => {}); // the job's own error is the one that matters
      throw error;
    } finally {
      await fetcher.close();
    }
  });
}

/** The first run after an upgrade: register the files of messages mirrored before. */
async function registerHistory(ctx: RunContext): Promise<boolean> {
  const state = await ctx.store.getSyncState(ctx.appId, FILES_HISTORY_STREAM);
  if (state?.lastSuccessAt) return false;
  let after: string | null = state?.cursor ?? "";
  while (after !== null) {
    after = await ctx.store.files.registerHistoryPage(ctx.appId, after, HISTORY_PAGE, new Date(clock(ctx)));
    if (after !== null) await ctx.store.saveSyncState(ctx.appId, FILES_HISTORY_STREAM, { cursor: after });
  }
  await ctx.store.saveSyncState(ctx.appId, FILES_HISTORY_STREAM, {
    cursor: null,
    lastSuccessAt: new Date(clock(ctx)),
  });
  return true;
}

async function downloadDue(
  ctx: RunContext,
  settings: FilesSettings,
  blobs: BlobDir,
  fetcher: FileFetcher,
  summary: FilesSummary,
): Promise<void> {
  // Rows due at the start only: a failure moves its row into the future, so a pass always ends.
  const startedAt = new Date(clock(ctx));
  let diskFull: unknown;
  for (;;) {
    if (ctx.signal?.aborted) throw ctx.signal.reason ?? new Error("aborted");
    const due = await ctx.store.files.due(ctx.appId, startedAt, BATCH);
    if (due.length === 0) return;
    let next = 0;
    // One download per URL at a time: a file in 50 messages is fetched once, the others then
    // find it stored (settle's "already archived" check).
    const inflight = new Map<string, Promise<unknown>>();
    const worker = async () => {
      while (next < due.length && diskFull === undefined && !ctx.signal?.aborted) {
        const file = due[next++] as DueFile;
        try {
          const before = inflight.get(file.url);
          const attempt = (async () => {
            await before;
            await settle(ctx, settings, blobs, fetcher, file, summary);
          })();
          inflight.set(
            file.url,
            attempt.catch(() => {}),
          );
          await attempt;
        } catch (error) {
          if (!isDiskFull(error) && (error as MirrorError).code !== "FILES_DISK_FULL") throw error;
          diskFull = error; // stop taking files; the row stays pending as it was
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(settings.concurrency, due.length) }, worker));
    if (diskFull !== undefined) throw diskFull;
  }
}

/** Downloads one file and records what came of it. */
async function settle(
  ctx: RunContext,
  settings: FilesSettings,
  blobs: BlobDir,
  fetcher: FileFetcher,
  file: DueFile,
  summary: FilesSummary,
): Promise<void> {
  const { appId, store } = ctx;
  const now = () => new Date(clock(ctx));
  const stored = async (sha256: string, size: number, contentType: string | null, fresh: boolean) => {
    if (!(await store.files.recordStored(appId, file, { sha256, size, contentType, at: now() }))) {
      // Erased by `forget` while it downloaded: bytes no reference lists are its user's; remove them.
      if (fresh && !(await store.files.hasBlob(sha256))) await blobs.remove(sha256);
      return;
    }
    summary.stored++;
    if (fresh) {
      summary.downloaded++;
      summary.bytes += size;
    }
  };
  const outcome = async (status: FileOutcome["status"], error: string, missing = false) => {
    const at = now();
    let settled = status;
    let missingSince: Date | null = null;
    if (missing) {
      const since = file.missingSince ?? at;
      missingSince = since;
      if (at.getTime() - since.getTime() >= settings.goneAfterDays * DAY) settled = "gone";
    }
    const nextAttemptAt = settled === "failed" ? new Date(at.getTime() + retryDelay(file.attempts)) : NEVER;
    await store.files.recordOutcome(appId, file, { status: settled, error, nextAttemptAt, missingSince, at });
    if (settled === "gone") summary.gone++;
    else if (settled === "skipped_too_large") summary.skippedTooLarge++;
    else summary.failed++;
    ctx.logger.debug({ url: file.url, status: settled, error }, "file not stored");
  };

  if (file.declaredSize !== null && file.declaredSize > settings.maxBytes)
    return outcome(
      "skipped_too_large",
      `declared ${file.declaredSize} bytes > FILES_MAX_BYTES (${settings.maxBytes})`,
    );
  // The same URL already archived for another message: no second download.
  const known = await store.files.storedBlobForUrl(appId, file.url);
  if (known !== null && (await blobs.has(known))) return stored(known, file.declaredSize ?? 0, null, false);

  let response: Awaited<ReturnType<FileFetcher["get"]>>;
  try {
    response = await fetcher.get(file.url, ctx.signal);
  } catch (error) {
    if (error instanceof RefusedUrlError) return outcome("failed", error.message);
    if (ctx.signal?.aborted) throw error;
    return outcome("failed", `request failed: ${describeNetworkError(error)}`);
  }
  if (response.status !== 200) {
    await response.body.dump().catch(() => {});
    const missing = response.status === 403 || response.status === 404 || response.status === 410;
    return outcome("failed", `HTTP ${response.status}`, missing);
  }
  if (response.contentLength !== null && response.contentLength > settings.maxBytes) {
    await response.body.dump().catch(() => {});
    return outcome(
      "skipped_too_large",
      `${response.contentLength} bytes > FILES_MAX_BYTES (${settings.maxBytes})`,
    );
  }
  let head: Uint8Array | null = null;
  const body = (async function* () {
    for await (const chunk of response.body) {
      head ??= chunk;
      yield chunk;
    }
  })();
  let blob: Awaited<ReturnType<BlobDir["write"]>>;
  try {
    blob = await blobs.write(body, settings.maxBytes);
  } catch (error) {
    await response.body.dump().catch(() => {});
    if (error instanceof TooLargeError)
      return outcome("skipped_too_large", `more than FILES_MAX_BYTES (${settings.maxBytes}) bytes`);
    if (isDiskFull(error) || (error as MirrorError).code === "FILES_DISK_FULL") throw error;
    if (ctx.signal?.aborted) throw error;
    return outcome("failed", `download interrupted: ${describeNetworkError(error)}`);
  }
  const wrong = notTheFile(response.contentType, file.filename, head ?? new Uint8Array());
  if (wrong !== null || (file.declaredSize !== null && blob.size !== file.declaredSize)) {
    await blobs.discard(blob);
    return outcome("failed", wrong ?? `size mismatch: ${blob.size} bytes, ${file.declaredSize} declared`);
  }
  await blobs.commit(blob);
  await stored(blob.sha256, blob.size, response.contentType, true);
}

/** A short reason without request details (an undici error can carry headers). */
function describeNetworkError(error: unknown): string {
  const e = error as { code?: unknown; message?: unknown };
  const code = typeof e?.code === "string" ? e.code : undefined;
  const message = typeof e?.message === "string" ? e.message.split("\n")[0] : String(error);
  return code ? `${code}: ${message}` : (message ?? "unknown error");
}
