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
}

export interface AddFileInput {
  size: number;
  filename?: string;
  contentType?: string;
  /** Files with the same `bytesSeed` and size have the same bytes (default: unique per file). */
  bytesSeed?: number;
}

const CHUNK = 64 * 1024;
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
    return file ? Buffer.concat([...chunks(file.bytesSeed, file.size)]) : undefined;
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
