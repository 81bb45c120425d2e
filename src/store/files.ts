// The files half of the store: message_files (the file references of mirrored messages and how
// archiving each went) and file_blobs (content-addressed files). Registering references happens in
// the message page's transaction (MessageStore.upsert); the files job reads and settles them.
import type { Message } from "../talkjs/types.ts";
import type { Db, Tx } from "./open.ts";
import {
  blobRow,
  dueFiles,
  FILE_REF_PARAMS,
  type FileRefRow,
  fileStatusCounts,
  insertBlob,
  messagesWithFiles,
  registerFileRefs,
  storedBlobForUrl,
  storedBlobTotals,
  storedFileRefs,
} from "./sql/files.ts";
import { chunk, MAX_PARAMS, toDate, toNumber } from "./sql/shared.ts";

export type { FileRefRow } from "./sql/files.ts";

/** `erased`: a reference of a user erased by `forget` (URL and name blanked; never downloaded). */
export const FILE_STATUSES = ["pending", "stored", "failed", "gone", "skipped_too_large", "erased"] as const;
export type FileStatus = (typeof FILE_STATUSES)[number];

/** A reference due for download. */
export interface DueFile {
  messageId: string;
  blockIndex: number;
  conversationId: string;
  url: string;
  declaredSize: number | null;
  filename: string | null;
  attempts: number;
  missingSince: Date | null;
}

/** What a download attempt came to, other than stored. */
export interface FileOutcome {
  status: Exclude<FileStatus, "stored" | "pending">;
  error: string;
  nextAttemptAt: Date;
  missingSince: Date | null;
  at: Date;
}

export interface FileStats {
  /** References per status (every status present, 0 when none). */
  byStatus: Record<FileStatus, number>;
  /** Declared bytes of references not stored yet (pending + failed). */
  pendingBytes: number;
  /** Distinct files stored for this app, and their bytes. */
  blobs: number;
  storedBytes: number;
}

export interface StoredFileRef {
  conversationId: string;
  messageId: string;
  blockIndex: number;
  filename: string | null;
  url: string;
  sha256: string;
}

/** The `attachment` field's block index; content blocks use their index in `content`. */
export const ATTACHMENT_BLOCK = -1;

/** The name a URL's last path segment gives, for an attachment (which has no filename). */
function nameFromUrl(url: string): string | null {
  try {
    const last = new URL(url).pathname.split("/").pop() ?? "";
    return last === "" ? null : decodeURIComponent(last);
  } catch {
    return null;
  }
}

const sizeOf = (v: unknown): number | null =>
  typeof v === "number" && Number.isSafeInteger(v) && v >= 0 ? v : null;

/** The files one message points to: its `attachment` and its `content` file blocks. */
export function fileRefsOf(
  appId: string,
  m: Pick<Message, "id" | "conversationId" | "attachment" | "content">,
): FileRefRow[] {
  const refs: FileRefRow[] = [];
  const base = { appId, messageId: m.id, conversationId: m.conversationId };
  const a = m.attachment as { url?: unknown; size?: unknown } | null | undefined;
  if (a && typeof a.url === "string" && a.url !== "")
    refs.push({
      ...base,
      blockIndex: ATTACHMENT_BLOCK,
      url: a.url,
      declaredSize: sizeOf(a.size),
      filename: nameFromUrl(a.url),
    });
  if (Array.isArray(m.content)) {
    for (const [i, block] of m.content.entries()) {
      const b = block as { type?: unknown; url?: unknown; size?: unknown; filename?: unknown } | null;
      if (b?.type !== "file" || typeof b.url !== "string" || b.url === "") continue;
      const filename = typeof b.filename === "string" && b.filename !== "" ? b.filename : nameFromUrl(b.url);
      refs.push({ ...base, blockIndex: i, url: b.url, declaredSize: sizeOf(b.size), filename });
    }
  }
  return refs;
}

/** JSON columns come back parsed (PostgreSQL) or as text (SQLite). */
function json(value: unknown): unknown {
  if (typeof value !== "string") return value ?? null;
  try {
    return JSON.parse(value);
  } catch {
    return null;
  }
}

export class FileStore {
  readonly #db: Db;

  constructor(db: Db) {
    this.#db = db;
  }

  /** Registers the file references of `messages` (in the caller's transaction when given). */
  async register(appId: string, messages: readonly Message[], now: Date, tx?: Tx): Promise<void> {
    const rows = messages.flatMap((m) => fileRefsOf(appId, m));
    const client = tx ?? this.#db.client;
    for (const part of chunk(rows, Math.floor(MAX_PARAMS / FILE_REF_PARAMS))) {
      await client.$executeRaw(registerFileRefs(this.#db.pg, part, now));
    }
  }

  /**
   * One page of the history scan: registers the files of mirrored messages with ids after
   * `afterId`; returns the last id scanned (null when the scan is complete).
   */
  async registerHistoryPage(
    appId: string,
    afterId: string,
    limit: number,
    now: Date,
  ): Promise<string | null> {
    const rows = await this.#db.client.$queryRaw<Record<string, unknown>[]>(
      messagesWithFiles(appId, afterId, limit),
    );
    const messages = rows.map((r) => ({
      id: String(r.id),
      conversationId: String(r.conversation_id),
      attachment: json(r.attachment) as Message["attachment"],
      content: json(r.content) as unknown[] | undefined,
    }));
    const refs = messages.flatMap((m) => fileRefsOf(appId, m));
    for (const part of chunk(refs, Math.floor(MAX_PARAMS / FILE_REF_PARAMS))) {
      await this.#db.client.$executeRaw(registerFileRefs(this.#db.pg, part, now));
    }
    return rows.length < limit ? null : String(rows[rows.length - 1]?.id);
  }

  async due(appId: string, now: Date, limit: number): Promise<DueFile[]> {
    const rows = await this.#db.client.$queryRaw<Record<string, unknown>[]>(
      dueFiles(this.#db.pg, appId, now, limit),
    );
    return rows.map((r) => ({
      messageId: String(r.message_id),
      blockIndex: toNumber(r.block_index),
      conversationId: String(r.conversation_id),
      url: String(r.url),
      declaredSize:
        r.declared_size === null || r.declared_size === undefined ? null : toNumber(r.declared_size),
      filename: r.filename === null || r.filename === undefined ? null : String(r.filename),
      attempts: toNumber(r.attempts),
      missingSince: toDate(r.missing_since),
    }));
  }

  /** The sha256 of an already stored reference with this URL, if any. */
  async storedBlobForUrl(appId: string, url: string): Promise<string | null> {
    const [row] = await this.#db.client.$queryRaw<{ sha256: string }[]>(storedBlobForUrl(appId, url));
    return row ? String(row.sha256) : null;
  }

  /**
   * Marks a reference stored and records its blob, in one transaction. False (nothing recorded)
   * when `forget` erased the reference while it was downloading.
   */
  async recordStored(
    appId: string,
    ref: Pick<DueFile, "messageId" | "blockIndex">,
    blob: { sha256: string; size: number; contentType: string | null; at: Date },
  ): Promise<boolean> {
    return this.#db.client.$transaction(async (tx) => {
      const { count } = await tx.messageFile.updateMany({
        where: { appId, messageId: ref.messageId, blockIndex: ref.blockIndex, status: { not: "erased" } },
        data: {
          status: "stored",
          sha256: blob.sha256,
          attempts: { increment: 1 },
          lastError: null,
          missingSince: null,
          updatedAt: blob.at,
        },
      });
      if (count === 0) return false;
      await tx.$executeRaw(insertBlob(this.#db.pg, blob));
      return true;
    });
  }

  /** Whether file_blobs has a row for these bytes. */
  async hasBlob(sha256: string): Promise<boolean> {
    return (await this.#db.client.$queryRaw<unknown[]>(blobRow(sha256))).length > 0;
  }

  /** Records a failed (or skipped, or gone) attempt. */
  async recordOutcome(
    appId: string,
    ref: Pick<DueFile, "messageId" | "blockIndex">,
    outcome: FileOutcome,
  ): Promise<void> {
    // An erased reference stays erased (a download that failed while `forget` ran).
    await this.#db.client.messageFile.updateMany({
      where: { appId, messageId: ref.messageId, blockIndex: ref.blockIndex, status: { not: "erased" } },
      data: {
        status: outcome.status,
        attempts: { increment: 1 },
        lastError: outcome.error,
        nextAttemptAt: outcome.nextAttemptAt,
        missingSince: outcome.missingSince,
        updatedAt: outcome.at,
      },
    });
  }

  async stats(appId: string): Promise<FileStats> {
    const rows = await this.#db.client.$queryRaw<Record<string, unknown>[]>(fileStatusCounts(appId));
    const byStatus = Object.fromEntries(FILE_STATUSES.map((s) => [s, 0])) as Record<FileStatus, number>;
    let pendingBytes = 0;
    for (const r of rows) {
      const status = String(r.status) as FileStatus;
      byStatus[status] = toNumber(r.files);
      if (status === "pending" || status === "failed") pendingBytes += toNumber(r.declared_bytes);
    }
    const [totals] = await this.#db.client.$queryRaw<Record<string, unknown>[]>(storedBlobTotals(appId));
    return { byStatus, pendingBytes, blobs: toNumber(totals?.blobs), storedBytes: toNumber(totals?.bytes) };
  }

  async storedRefs(appId: string): Promise<StoredFileRef[]> {
    const rows = await this.#db.client.$queryRaw<Record<string, unknown>[]>(storedFileRefs(appId));
    return rows.map((r) => ({
      conversationId: String(r.conversation_id),
      messageId: String(r.message_id),
      blockIndex: toNumber(r.block_index),
      filename: r.filename === null || r.filename === undefined ? null : String(r.filename),
      url: String(r.url),
      sha256: String(r.sha256),
    }));
  }
}
