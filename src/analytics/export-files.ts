// `export --with-files DIR`: the archived files as a person browses them — one folder per
// conversation, each file under its original name — hard-linked from the content-addressed store
// (no second copy on the same disk), copied when a link is impossible (another disk, a file
// system without links). Names come from message data, so they are made safe first: no path
// separators, no "..", no control characters.
import { copyFile, link, mkdir, stat } from "node:fs/promises";
import path from "node:path";
import { MirrorError } from "../errors.ts";
import type { Store } from "../store/store.ts";
import { BlobDir } from "../sync/file-blobs.ts";

export interface FilesExportSummary {
  files: number;
  conversations: number;
  linked: number;
  copied: number;
  /** Stored references whose file is missing from FILES_DIR (deleted by hand). */
  missing: number;
  dir: string;
}

/** A file or folder name from untrusted text: one path segment, never hidden or "..". */
export function safeName(raw: string, fallback: string): string {
  // Control characters (code < 32, DEL) and path separators each become "_".
  const plain = [...raw]
    .map((c) => (c < " " || c === "\u007f" || c === "/" || c === "\\" ? "_" : c))
    .join("");
  const cleaned = plain.replace(/^\.+/, "_").trim().slice(0, 200);
  return cleaned === "" ? fallback : cleaned;
}

/** A conversation id as a folder name: percent-encoded, so any id maps to one folder and back. */
export const conversationFolder = (id: string): string => safeName(encodeURIComponent(id), "_");

export async function exportFiles(
  store: Store,
  appId: string,
  filesDir: string,
  targetDir: string,
): Promise<FilesExportSummary> {
  const blobs = new BlobDir(filesDir);
  const dir = path.resolve(targetDir);
  const summary: FilesExportSummary = { files: 0, conversations: 0, linked: 0, copied: 0, missing: 0, dir };
  if (
    !(await stat(filesDir).then(
      (s) => s.isDirectory(),
      () => false,
    ))
  )
    throw new MirrorError(
      "FILES_DIR_MISSING",
      `no archived files at FILES_DIR (${filesDir}); run a sync with MIRROR_FILES on first`,
    );
  const used = new Map<string, Set<string>>();
  for (const ref of await store.files.storedRefs(appId)) {
    const folder = conversationFolder(ref.conversationId);
    let names = used.get(folder);
    if (!names) {
      names = new Set();
      used.set(folder, names);
      await mkdir(path.join(dir, folder), { recursive: true });
      summary.conversations++;
    }
    const original = safeName(ref.filename ?? "", `${ref.messageId}.bin`);
    let name = original;
    if (names.has(name)) {
      // The same name twice in one conversation: keep both, told apart by their message.
      const { name: stem, ext } = path.parse(original);
      const block = ref.blockIndex < 0 ? "" : `-${ref.blockIndex}`;
      name = safeName(`${stem} (${ref.messageId}${block})${ext}`, `${ref.messageId}.bin`);
    }
    names.add(name);
    const source = blobs.pathOf(ref.sha256);
    const target = path.join(dir, folder, name);
    if (
      !(await stat(source).then(
        () => true,
        () => false,
      ))
    ) {
      summary.missing++;
      continue;
    }
    if (
      await stat(target).then(
        () => true,
        () => false,
      )
    ) {
      summary.files++; // exported before (a re-run into the same folder): content-addressed, unchanged
      continue;
    }
    try {
      await link(source, target);
      summary.linked++;
    } catch {
      await copyFile(source, target);
      summary.copied++;
    }
    summary.files++;
  }
  return summary;
}
