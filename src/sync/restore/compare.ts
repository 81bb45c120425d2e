// The round-trip comparison: the source mirror against a mirror of the restored target, modulo
// what cannot survive a restore (types.ts NOT_RESTORABLE_FIELDS). Messages are compared per
// conversation as a multiset of what an import carries (sender, timestamp, text, custom, readBy):
// ids differ by design, and duplicates or losses show as a count difference.
//
// Files: their URLs differ by design (a re-uploaded file gets a new one), so a message's files are
// compared as the sorted list of (filename, size). The source side lists only what a restore can
// carry: the files the mirror archived (message_files `stored`), and with the documented import
// shape only a message's first (one attachmentToken per message).
import { fileRefsOf } from "../../store/files.ts";
import type { SourceFile } from "../../store/restore.ts";
import type { Store } from "../../store/store.ts";
import type { Message, MirroredUser } from "../../talkjs/types.ts";
import { importable } from "./engine.ts";
import type { ImportShape } from "./types.ts";

type FileForm = [string, number];

/** The files a (target) message holds, as compared: the mirror's own reading of its file references. */
function filesOfMessage(appId: string, m: Message): FileForm[] {
  return fileRefsOf(appId, m).map((r): FileForm => [r.filename ?? "", r.declaredSize ?? 0]);
}

/** What of a message survives an import. */
function restoredForm(m: Message, files: FileForm[]): string {
  return JSON.stringify([
    m.senderId,
    m.createdAt,
    m.text ?? "",
    Object.entries(m.custom ?? {}).sort(),
    [...m.readBy].filter((u) => u !== m.senderId).sort(),
    files.map((f) => JSON.stringify(f)).sort(),
  ]);
}

/** The files of a source message a restore carries (see the file comment). */
function carriedFiles(refs: readonly SourceFile[], shape: ImportShape): FileForm[] {
  const stored = refs
    .filter((f) => f.status === "stored" && f.sha256 !== null && f.size !== null)
    .map((f): FileForm => [f.filename ?? "", f.size as number]);
  return shape === "documented" ? stored.slice(0, 1) : stored;
}

/** The fields of two users that differ (createdAt is set by the target: not compared). */
function userDiff(a: MirroredUser, b: MirroredUser): string[] {
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  keys.delete("createdAt");
  const ra = a as unknown as Record<string, unknown>;
  const rb = b as unknown as Record<string, unknown>;
  return [...keys].filter((k) => JSON.stringify(ra[k] ?? null) !== JSON.stringify(rb[k] ?? null)).sort();
}

/**
 * Differences between the restored app's mirror (`targetAppId`) and the source mirror, as lines
 * naming ids and fields only (never message text). `conversationIds`: the restored subset (null: all live).
 */
export async function compareRestore(
  source: { store: Store; appId: string },
  target: { store: Store; appId: string },
  opts: {
    conversationIds: readonly string[] | null;
    includeDeleted: boolean;
    since?: Date | null;
    /** The import shape the restore used (how many files a message carries); default documented. */
    importShape?: ImportShape;
  },
): Promise<string[]> {
  const out: string[] = [];
  const filter = {
    ids: opts.conversationIds,
    since: opts.since ?? null,
    includeDeleted: opts.includeDeleted,
  };
  const a = await source.store.restore.conversations(source.appId, filter);
  // The target side: exactly the conversations restored (all live ones when all were).
  const restoredIds =
    opts.conversationIds === null && filter.since === null ? null : a.map((c) => c.conversation.id);
  const b = new Map(
    (
      await target.store.restore.conversations(target.appId, {
        ids: restoredIds,
        since: null,
        includeDeleted: false,
      })
    ).map((c) => [c.conversation.id, c]),
  );
  for (const c of a) {
    const id = c.conversation.id;
    const t = b.get(id);
    if (!t) {
      out.push(`conversation ${id}: missing in the target`);
      continue;
    }
    for (const field of ["subject", "photoUrl", "welcomeMessages", "custom"] as const)
      if (JSON.stringify(c.conversation[field]) !== JSON.stringify(t.conversation[field]))
        out.push(`conversation ${id}: ${field} differs`);
    if (
      JSON.stringify(Object.entries(c.participants).sort()) !==
      JSON.stringify(Object.entries(t.participants).sort())
    )
      out.push(`conversation ${id}: participants differ`);
    const count = new Map<string, number>();
    const sourceMessages = (
      await source.store.restore.messages(source.appId, id, opts.includeDeleted)
    ).filter(importable);
    const refs = await source.store.restore.files(
      source.appId,
      sourceMessages.map((m) => m.id),
    );
    for (const m of sourceMessages) {
      const form = restoredForm(m, carriedFiles(refs.get(m.id) ?? [], opts.importShape ?? "documented"));
      count.set(form, (count.get(form) ?? 0) + 1);
    }
    for (const m of await target.store.restore.messages(target.appId, id, false)) {
      const form = restoredForm(m, filesOfMessage(target.appId, m));
      count.set(form, (count.get(form) ?? 0) - 1);
    }
    let missing = 0;
    let extra = 0;
    for (const n of count.values()) {
      if (n > 0) missing += n;
      if (n < 0) extra -= n;
    }
    if (missing > 0) out.push(`conversation ${id}: ${missing} message(s) missing in the target`);
    if (extra > 0)
      out.push(`conversation ${id}: ${extra} message(s) in the target not in the source (duplicates?)`);
  }
  const targetUsers = new Map((await target.store.restore.users(target.appId, false)).map((u) => [u.id, u]));
  for (const u of await source.store.restore.users(source.appId, false)) {
    const t = targetUsers.get(u.id);
    if (!t) out.push(`user ${u.id}: missing in the target`);
    else {
      const fields = userDiff(u, t);
      if (fields.length > 0) out.push(`user ${u.id}: ${fields.join(", ")} differ`);
    }
  }
  return out;
}
