// Files of restored messages: every file a message points to that the mirror archived (a
// `message_files` row `stored`, its blob under FILES_DIR) is uploaded to the target app before the
// message's import (POST /files → fileToken), once per (target app, bytes, name): the token is
// recorded in restore_ledger (kind `file`, source id = sha256 + newline + name, target id = token),
// so a rerun reuses it instead of uploading again. A file not archived (failed, gone, too large, MIRROR_FILES off, or its
// blob missing or damaged on disk) cannot be restored: the message goes without it (its text
// only), counted. Uploads go through the target's client, so under its rate governor.
import type { LedgerEntry, SourceFile } from "../../store/restore.ts";
import type { Store } from "../../store/store.ts";
import type { TalkJSClient } from "../../talkjs/client.ts";
import type { Message } from "../../talkjs/types.ts";
import { BlobDir } from "../file-blobs.ts";
import type { RestoreOptions } from "./types.ts";

/** Whether a reference can be re-uploaded: archived, with its blob recorded, and a FILES_DIR to read. */
export const archived = (f: SourceFile, filesDir: string | null | undefined): boolean =>
  !!filesDir && f.status === "stored" && f.sha256 !== null && f.size !== null;

/** The name a file is uploaded under: its own, or (none recorded) the start of its sha256. */
export const uploadName = (f: SourceFile): string => f.filename ?? (f.sha256 as string).slice(0, 16);

/**
 * What one upload serves: the same bytes under the same name (an uploaded file keeps its name, so
 * the same bytes under two names are two uploads). The ledger's source id of a `file` row.
 */
export const uploadKey = (f: SourceFile): string => `${f.sha256 as string}\n${uploadName(f)}`;

/** The files the import of a message carries, in the order the payload lists them. */
export type MessageTokens = Map<string, string[]>;

export interface FileCounters {
  filesUploaded: number;
  filesUploadedBytes: number;
  /** Files whose token came from the ledger or an earlier message of this run (no upload). */
  filesReused: number;
  /** References restored without their file (not archived, or the blob unreadable). */
  filesNotArchived: number;
}

export class RestoreFiles {
  readonly #store: Store;
  readonly #client: TalkJSClient;
  readonly #o: RestoreOptions;
  readonly #blobs: BlobDir | null;
  /** uploadKey → its token in the target (null: the blob could not be read); shared by all conversations. */
  readonly #tokens = new Map<string, Promise<string | null>>();
  readonly counters: FileCounters = {
    filesUploaded: 0,
    filesUploadedBytes: 0,
    filesReused: 0,
    filesNotArchived: 0,
  };

  constructor(store: Store, client: TalkJSClient, o: RestoreOptions, known: readonly LedgerEntry[]) {
    this.#store = store;
    this.#client = client;
    this.#o = o;
    this.#blobs = o.filesDir ? new BlobDir(o.filesDir) : null;
    for (const e of known)
      if (e.status === "applied" && e.targetId) this.#tokens.set(e.sourceId, Promise.resolve(e.targetId));
  }

  static async open(store: Store, client: TalkJSClient, o: RestoreOptions): Promise<RestoreFiles> {
    return new RestoreFiles(
      store,
      client,
      o,
      await store.restore.ofKind(o.targetAppId, o.sourceAppId, "file"),
    );
  }

  /** The tokens of the files of `messages` (uploading what the target does not have yet). */
  async tokensFor(messages: readonly Message[]): Promise<MessageTokens> {
    const out: MessageTokens = new Map();
    const refs = await this.#store.restore.files(
      this.#o.sourceAppId,
      messages.map((m) => m.id),
    );
    for (const m of messages) {
      const tokens: string[] = [];
      for (const f of refs.get(m.id) ?? []) {
        // The documented shape carries one file a message (attachmentToken): upload only that one.
        if (this.#o.importShape === "documented" && tokens.length > 0) continue;
        const got = archived(f, this.#o.filesDir) ? await this.#token(f) : null;
        if (!got?.token) this.counters.filesNotArchived++;
        else {
          tokens.push(got.token);
          if (got.reused) this.counters.filesReused++;
        }
      }
      if (tokens.length > 0) out.set(m.id, tokens);
    }
    return out;
  }

  async #token(f: SourceFile): Promise<{ token: string | null; reused: boolean }> {
    const key = uploadKey(f);
    const known = this.#tokens.get(key);
    if (known) return { token: await known, reused: true };
    const p = this.#upload(f, key);
    this.#tokens.set(key, p);
    return { token: await p, reused: false };
  }

  async #upload(f: SourceFile, key: string): Promise<string | null> {
    const blobs = this.#blobs;
    const sha256 = f.sha256 as string;
    // Checked against its name first (a damaged blob is not restored), then streamed: a file is
    // never held whole in memory, whatever FILES_MAX_BYTES allows.
    const size = (await blobs?.verify(sha256)) ?? null;
    if (blobs === null || size === null) return null;
    const token = await this.#client.uploadFile(
      {
        size,
        open: () => blobs.stream(sha256),
        filename: uploadName(f),
        contentType: f.contentType ?? "application/octet-stream",
      },
      this.#o.signal,
    );
    await this.#store.restore.write(
      [
        {
          targetAppId: this.#o.targetAppId,
          sourceAppId: this.#o.sourceAppId,
          kind: "file",
          sourceId: key,
          conversationId: null,
          targetId: token,
          batch: null,
          status: "applied",
          fingerprint: null,
        },
      ],
      undefined,
      { files: 1 },
    );
    this.counters.filesUploaded++;
    this.counters.filesUploadedBytes += size;
    return token;
  }
}
