// The files a simulated app serves under /files/ (its "CDN"): the attachments of generated
// messages and files added by tests. Bytes are a pure function of (seed, file id, size), produced
// in chunks, so a 50 MB file costs nothing until someone downloads it, and a test can compare a
// downloaded file with `bytes()`.
import { createHash } from "node:crypto";
import type { Message } from "../talkjs/types.ts";
import { generatedAttachment, mixSeed, mulberry32 } from "./generator.ts";

export interface SimulatedFile {
  id: string;
  size: number;
  filename: string;
  contentType: string;
  /** An uploaded file's bytes (POST /v1/{appId}/files); generated and added files have none. */
  bytes?: Buffer;
}

export interface AddFileInput {
  size: number;
  filename?: string;
  contentType?: string;
  /** Files with the same `bytesSeed` and size have the same bytes (default: unique per file). */
  bytesSeed?: number;
}

const CHUNK = 64 * 1024;
/** Uploaded files get ids unique across every app of the process, so /files/ finds their app. */
let uploads = 0;
const GENERATED_ID = /^g([0-9a-z]+)_([0-9a-z]+)$/;

/** A stable number for a file id, mixed into its byte stream. */
function idNumber(id: string): number {
  return createHash("sha256").update(id).digest().readUInt32BE(0);
}

export class FileCatalog {
  /** Origin the URLs point at (the simulator's base URL, set once it listens). */
  baseUrl = "";
  /** When set, URLs handed out carry `expires=<ms>` and a request past it is a 403. */
  ttlMs: number | null = null;
  readonly #added = new Map<string, SimulatedFile & { bytesSeed: number }>();
  /** fileToken → file id: a token sends its file in a new message of this app only. */
  readonly #tokens = new Map<string, string>();
  #counter = 0;

  constructor(
    private readonly seed: number,
    private readonly now: () => number,
  ) {}

  add(input: AddFileInput): SimulatedFile & { url: string } {
    const id = `f${(this.#counter++).toString(36)}`;
    const file = {
      id,
      size: input.size,
      filename: input.filename ?? `${id}.bin`,
      contentType: input.contentType ?? "application/octet-stream",
      bytesSeed: input.bytesSeed ?? idNumber(id),
    };
    this.#added.set(id, file);
    return {
      id,
      size: file.size,
      filename: file.filename,
      contentType: file.contentType,
      url: this.url(file),
    };
  }

  /** Stores uploaded bytes (POST /v1/{appId}/files) and answers the file and its new fileToken. */
  upload(bytes: Buffer, filename: string, contentType: string): { token: string; file: SimulatedFile } {
    const id = `u${(uploads++).toString(36)}`;
    const file = { id, size: bytes.length, filename, contentType, bytes, bytesSeed: 0 };
    this.#added.set(id, file);
    const token = `ft_${createHash("sha256").update(`${this.seed}/${id}`).digest("hex").slice(0, 24)}`;
    this.#tokens.set(token, id);
    return { token, file };
  }

  /** The file a fileToken of this app stands for, with its URL; undefined for an unknown token. */
  byToken(token: string): (SimulatedFile & { url: string }) | undefined {
    const id = this.#tokens.get(token);
    const file = id === undefined ? undefined : this.#added.get(id);
    return file ? { ...file, url: this.url(file) } : undefined;
  }

  /** The stable URL of a file (no expiry; see `present`). */
  url(file: SimulatedFile): string {
    return `${this.baseUrl}/files/${file.id}/${encodeURIComponent(file.filename)}`;
  }

  /** The file behind an id: added ones, or a generated message's attachment ("g<index>_<seq>"). */
  find(id: string): (SimulatedFile & { bytesSeed: number }) | undefined {
    const added = this.#added.get(id);
    if (added) return added;
    const m = GENERATED_ID.exec(id);
    if (!m) return undefined;
    const index = Number.parseInt(m[1] as string, 36);
    const seq = Number.parseInt(m[2] as string, 36);
    const { size } = generatedAttachment(this.seed, index, seq, "");
    return {
      id,
      size,
      filename: `file_${index}_${seq}.pdf`,
      contentType: "application/pdf",
      bytesSeed: mixSeed(this.seed, 8, index, seq),
    };
  }

  /** The bytes of the file at `url` (tests compare downloads with them); undefined if not ours. */
  bytesOf(url: string): Buffer | undefined {
    const id = this.idOf(url);
    const file = id === undefined ? undefined : this.find(id);
    return file ? Buffer.concat([...fileChunks(file, file.size)]) : undefined;
  }

  idOf(url: string): string | undefined {
    if (!url.startsWith(`${this.baseUrl}/files/`)) return undefined;
    return decodeURIComponent(url.slice(this.baseUrl.length + "/files/".length).split(/[/?]/)[0] ?? "");
  }

  /**
   * A message as a read hands it out: with expiring URLs on, every file URL gets a fresh
   * `expires` (like a signed CDN URL), so a later read gives a new URL.
   */
  present(message: Message): Message {
    if (this.ttlMs === null) return message;
    const expires = this.now() + this.ttlMs;
    const sign = (url: string) =>
      url.startsWith(`${this.baseUrl}/files/`) ? `${url.split("?")[0]}?expires=${expires}` : url;
    const out: Message = { ...message };
    if (message.attachment) out.attachment = { ...message.attachment, url: sign(message.attachment.url) };
    if (Array.isArray(message.content)) {
      out.content = message.content.map((b) =>
        typeof b === "object" && b !== null && typeof (b as { url?: unknown }).url === "string"
          ? { ...b, url: sign((b as { url: string }).url) }
          : b,
      );
    }
    return out;
  }
}

/** A file's bytes, `size` of them (an uploaded file's own, padded when a fault asks for more). */
export function* fileChunks(file: SimulatedFile & { bytesSeed: number }, size: number): Generator<Buffer> {
  if (!file.bytes) {
    yield* chunks(file.bytesSeed, size);
    return;
  }
  const all =
    size <= file.bytes.length
      ? file.bytes
      : Buffer.concat([file.bytes, Buffer.alloc(size - file.bytes.length)]);
  for (let offset = 0; offset < size; offset += CHUNK)
    yield all.subarray(offset, Math.min(size, offset + CHUNK));
}

/** The bytes of a file, CHUNK at a time (4 bytes per draw of its own stream). */
export function* chunks(bytesSeed: number, size: number): Generator<Buffer> {
  const rng = mulberry32(bytesSeed);
  for (let offset = 0; offset < size; offset += CHUNK) {
    const n = Math.min(CHUNK, size - offset);
    const buf = Buffer.allocUnsafe(Math.ceil(n / 4) * 4);
    for (let i = 0; i < buf.length; i += 4) buf.writeUInt32LE(Math.floor(rng() * 4294967296), i);
    yield n === buf.length ? buf : buf.subarray(0, n);
  }
}
