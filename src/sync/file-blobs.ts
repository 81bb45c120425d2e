// The content-addressed file store on disk (like git's or restic's object stores): a file is named
// by the SHA-256 of its bytes, FILES_DIR/sha256/ab/cd/<sha256>, so the same bytes are stored once
// however many messages point to them. A download is streamed into FILES_DIR/tmp/, hashed on the
// way, fsynced, then renamed into place: a crash never leaves a half file under a real name, and
// the temporary file is removed whatever happens (a process killed outright leaves one, which the
// next run removes).
import { createHash, randomUUID } from "node:crypto";
import { createReadStream } from "node:fs";
import { constants, type FileHandle, mkdir, open, readdir, rename, rm, stat } from "node:fs/promises";
import path from "node:path";
import { MirrorError } from "../errors.ts";

/** Chunk size for reading a stored file back (hashing, uploads): memory stays this small per file. */
const READ_CHUNK = 256 * 1024;

/** What writing needs of a file handle (tests substitute one that fails like a full disk). */
export interface BlobFile {
  write(chunk: Uint8Array): Promise<unknown>;
  sync(): Promise<void>;
  close(): Promise<void>;
}

export interface BlobDirOptions {
  /** Opens a temporary file for writing; default: fs.open(…, "wx"). */
  openTemp?: (file: string) => Promise<BlobFile>;
}

/** A written and fsynced file, not yet under its final name. */
export interface TempBlob {
  readonly sha256: string;
  readonly size: number;
  readonly tempPath: string;
}

const DISK_FULL_CODES = new Set(["ENOSPC", "EDQUOT"]);

/** The disk of FILES_DIR is full: the files job stops, its rows stay pending, the sync goes on. */
export function diskFullError(dir: string, cause: unknown): MirrorError {
  return new MirrorError(
    "FILES_DISK_FULL",
    `the disk holding FILES_DIR (${dir}) is full; files not archived yet stay pending. Free space (or point FILES_DIR elsewhere) and run again.`,
    { cause },
  );
}

export const isDiskFull = (error: unknown): boolean =>
  DISK_FULL_CODES.has((error as NodeJS.ErrnoException | undefined)?.code ?? "");

/** A download that went past the size limit while streaming. */
export class TooLargeError extends Error {
  constructor(readonly limit: number) {
    super(`larger than FILES_MAX_BYTES (${limit} bytes)`);
  }
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

export class BlobDir {
  readonly root: string;
  readonly #tmp: string;
  readonly #openTemp: (file: string) => Promise<BlobFile>;

  constructor(root: string, options: BlobDirOptions = {}) {
    this.root = path.resolve(root);
    this.#tmp = path.join(this.root, "tmp");
    this.#openTemp = options.openTemp ?? ((file) => open(file, "wx", 0o644) as Promise<FileHandle>);
  }

  /** FILES_DIR/sha256/ab/cd/<sha256>. */
  pathOf(sha256: string): string {
    if (!/^[0-9a-f]{64}$/.test(sha256)) throw new Error(`not a sha256: ${sha256}`);
    return path.join(this.root, "sha256", sha256.slice(0, 2), sha256.slice(2, 4), sha256);
  }

  async has(sha256: string): Promise<boolean> {
    return stat(this.pathOf(sha256)).then(
      (s) => s.isFile(),
      () => false,
    );
  }

  /**
   * The size of a stored file whose bytes match their name, read as a stream (never whole in
   * memory): null when the file is missing or damaged.
   */
  async verify(sha256: string): Promise<number | null> {
    const hash = createHash("sha256");
    let size = 0;
    try {
      for await (const chunk of createReadStream(this.pathOf(sha256), { highWaterMark: READ_CHUNK })) {
        hash.update(chunk as Buffer);
        size += (chunk as Buffer).length;
      }
    } catch {
      return null;
    }
    return hash.digest("hex") === sha256 ? size : null;
  }

  /** A stored file's bytes as a stream of chunks (an upload reads it once per attempt). */
  stream(sha256: string): AsyncIterable<Uint8Array> {
    return createReadStream(this.pathOf(sha256), { highWaterMark: READ_CHUNK });
  }

  /**
   * Creates the folders and removes temporary files of processes that are gone (a run killed
   * mid-download). Temporary names start with the writer's pid, so a live writer's are kept.
   */
  async prepare(): Promise<number> {
    try {
      await mkdir(this.#tmp, { recursive: true });
    } catch (error) {
      if (isDiskFull(error)) throw diskFullError(this.root, error);
      throw new MirrorError(
        "FILES_DIR_UNUSABLE",
        `cannot create FILES_DIR (${this.root}): ${(error as Error).message}`,
      );
    }
    let removed = 0;
    for (const name of await readdir(this.#tmp)) {
      const pid = Number(name.split("-")[0]);
      // This process's own downloads (and a live writer's) remove their files themselves.
      if (Number.isInteger(pid) && pid > 0 && (pid === process.pid || processAlive(pid))) continue;
      await rm(path.join(this.#tmp, name), { force: true });
      removed++;
    }
    return removed;
  }

  /** Names of the temporary files present (tests: nothing is left behind). */
  async temporaryFiles(): Promise<string[]> {
    return readdir(this.#tmp).catch(() => []);
  }

  /**
   * Streams `body` into a temporary file, hashing it; stops with TooLargeError past `maxBytes`.
   * On any failure the temporary file is removed; a full disk becomes FILES_DISK_FULL.
   */
  async write(body: AsyncIterable<Uint8Array>, maxBytes: number): Promise<TempBlob> {
    const tempPath = path.join(this.#tmp, `${process.pid}-${randomUUID()}.part`);
    const hash = createHash("sha256");
    let size = 0;
    let file: BlobFile | undefined;
    try {
      file = await this.#openTemp(tempPath);
      for await (const chunk of body) {
        size += chunk.length;
        if (size > maxBytes) throw new TooLargeError(maxBytes);
        hash.update(chunk);
        await file.write(chunk);
      }
      await file.sync(); // the bytes are on disk before the rename makes them visible
      await file.close();
      file = undefined;
      return { sha256: hash.digest("hex"), size, tempPath };
    } catch (error) {
      await file?.close().catch(() => {});
      await rm(tempPath, { force: true });
      if (isDiskFull(error)) throw diskFullError(this.root, error);
      throw error;
    }
  }

  /** Renames a written file to its final name (or drops it: the same bytes are there already). */
  async commit(blob: TempBlob): Promise<void> {
    const final = this.pathOf(blob.sha256);
    try {
      if (await this.has(blob.sha256)) {
        await rm(blob.tempPath, { force: true });
        return;
      }
      await mkdir(path.dirname(final), { recursive: true });
      await rename(blob.tempPath, final);
      await syncDirectory(path.dirname(final));
    } catch (error) {
      await rm(blob.tempPath, { force: true });
      if (isDiskFull(error)) throw diskFullError(this.root, error);
      throw error;
    }
  }

  /** Removes a stored file (`forget`: only an erased user's messages pointed to it). */
  async remove(sha256: string): Promise<void> {
    await rm(this.pathOf(sha256), { force: true });
  }

  /** Removes a written file that turned out not to be wanted (wrong size, HTML page). */
  async discard(blob: TempBlob): Promise<void> {
    await rm(blob.tempPath, { force: true });
  }
}

/** fsync of a directory makes a rename durable; not every platform allows it (best effort). */
async function syncDirectory(dir: string): Promise<void> {
  let handle: FileHandle | undefined;
  try {
    handle = await open(dir, constants.O_RDONLY);
    await handle.sync();
  } catch {
    // EISDIR/EPERM on some platforms: the rename itself is still atomic.
  } finally {
    await handle?.close().catch(() => {});
  }
}
