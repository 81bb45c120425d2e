// Erasure and purge. `forget` blanks one user's personal data everywhere the mirror keeps it (the
// user row, the text and files of their messages, conversations' lastMessage, error texts) and
// records the erasure (ids and time only); every later write blanks the same fields on the way in
// (`redact*`, called by the upserts), so a reconcile does not bring the data back while TalkJS
// still has it: a blanked message has no attachment or file block, so the files store registers
// nothing for it and its `erased` references stay as they are. Ids and timestamps stay, so counts still add up. `purge` is the one operation that
// removes rows: those soft-deleted before a date.
import type { Conversation, Message, MirroredUser } from "../talkjs/types.ts";
import { contentHash } from "./hash.ts";
import type { Db, Tx } from "./open.ts";
import { withConnectionRetry } from "./retry.ts";
import {
  blankRunError,
  blankStreamError,
  blobsOnlyOfPurged,
  blobsOnlyOfSender,
  conversationsLastSentBy,
  deleteBlobs,
  deleteErasure,
  eraseConversationLastMessage,
  erasedUserIds,
  eraseMessageRow,
  eraseSenderFileRefs,
  eraseUserRow,
  insertErasure,
  messagesBySender,
  purgeConversations,
  purgeCounts,
  purgedFileRefCount,
  purgeFileRefs,
  purgeMessageState,
  purgeMessages,
  purgeParticipants,
  purgeUsers,
  runErrors,
  senderFileRefs,
  streamErrors,
  userRaw,
} from "./sql/privacy.ts";
import { chunk, MAX_PARAMS, type Sql, toJson, toNumber } from "./sql/shared.ts";

/** The erased users of an app (read once per page written: the table is tiny, by primary key). */
export async function erasedIds(db: Db, appId: string): Promise<Set<string>> {
  // Part of every page write: retried on a lost connection like the page transaction (./retry.ts).
  const rows = await withConnectionRetry(db, () =>
    db.client.$queryRaw<{ user_id: string }[]>(erasedUserIds(appId)),
  );
  return new Set(rows.map((r) => r.user_id));
}

/** An erased user: only the id, role and createdAt survive (a whitelist, so unknown fields go too). */
export function blankUser(u: MirroredUser): MirroredUser {
  return {
    id: u.id,
    name: null,
    welcomeMessage: null,
    photoUrl: null,
    headerPhotoUrl: null,
    role: u.role ?? null,
    email: null,
    phone: null,
    custom: {},
    availabilityText: null,
    locale: null,
    createdAt: u.createdAt,
  };
}

/** A message of an erased sender: ids, type, times and read receipts survive; text and files go. */
export function blankMessage(m: Message): Message {
  return {
    id: m.id,
    conversationId: m.conversationId,
    type: m.type,
    senderId: m.senderId,
    readBy: m.readBy,
    text: "",
    attachment: null,
    location: null,
    origin: m.origin,
    createdAt: m.createdAt,
    editedAt: m.editedAt,
    referencedMessageId: m.referencedMessageId,
    custom: {},
  };
}

export function redactUsers(users: readonly MirroredUser[], erased: Set<string>): MirroredUser[] {
  return erased.size === 0 ? [...users] : users.map((u) => (erased.has(u.id) ? blankUser(u) : u));
}

export function redactMessages(messages: readonly Message[], erased: Set<string>): Message[] {
  if (erased.size === 0) return [...messages];
  return messages.map((m) => (m.senderId && erased.has(m.senderId) ? blankMessage(m) : m));
}

export function redactConversations(list: readonly Conversation[], erased: Set<string>): Conversation[] {
  if (erased.size === 0) return [...list];
  return list.map((c) => {
    const sender = c.lastMessage?.senderId;
    return c.lastMessage && sender && erased.has(sender)
      ? { ...c, lastMessage: blankMessage(c.lastMessage) }
      : c;
  });
}

export interface ForgetCounts {
  /** 1 when the user has a row. */
  users: number;
  messages: number;
  /** Conversations whose lastMessage was theirs. */
  conversations: number;
  /** sync_runs / sync_state error texts that contained their personal data. */
  errors: number;
  /** File references of their messages blanked (status `erased`). */
  fileRefs: number;
  /** Archived files removed (from file_blobs and FILES_DIR): those only their messages point to. */
  files: number;
}

/** What `forget` did, and the archived files whose bytes the caller removes from FILES_DIR. */
export interface ForgetResult {
  counts: ForgetCounts;
  /** sha256 of the archived files removed from file_blobs (only with apply). */
  removedBlobs: string[];
}

export interface PurgeCounts {
  conversations: number;
  messages: number;
  users: number;
  /** message_files rows of the purged messages (any status). */
  fileRefs: number;
  /** Archived files removed (from file_blobs and FILES_DIR): those only the purged messages point to. */
  files: number;
}

/** What `purge` did, and the archived files whose bytes the caller removes from FILES_DIR. */
export interface PurgeResult {
  counts: PurgeCounts;
  /** sha256 of the archived files removed from file_blobs (only with apply). */
  removedBlobs: string[];
}

/**
 * The blob rule `forget` and `purge` share: the archived files only some messages' references
 * point to (`onlyThese`, read before the references change); with `release` (the statement that
 * blanks or deletes those references) their file_blobs rows go in the same transaction. The
 * caller removes their bytes from FILES_DIR after the commit. Returns their sha256.
 */
async function releaseBlobs(tx: Tx, onlyThese: Sql, release: Sql | null): Promise<string[]> {
  const blobs = (await tx.$queryRaw<{ sha256: string }[]>(onlyThese)).map((r) => String(r.sha256));
  if (release) {
    await tx.$executeRaw(release);
    for (const part of chunk(blobs, MAX_PARAMS)) await tx.$executeRaw(deleteBlobs(part));
  }
  return blobs;
}

const PAGE = 500;

export class PrivacyStore {
  readonly #db: Db;

  constructor(db: Db) {
    this.#db = db;
  }

  erasedIds(appId: string): Promise<Set<string>> {
    return erasedIds(this.#db, appId);
  }

  /**
   * Erases one user's personal data (or, without `apply`, only counts what it would touch). One
   * transaction: the erasure row and every blanked row commit together.
   */
  forget(appId: string, userId: string, opts: { apply: boolean; at: Date }): Promise<ForgetResult> {
    const { pg } = this.#db;
    const at = opts.at;
    return this.#db.client.$transaction(
      async (tx) => {
        const counts: ForgetCounts = {
          users: 0,
          messages: 0,
          conversations: 0,
          errors: 0,
          fileRefs: 0,
          files: 0,
        };
        const removedBlobs: string[] = [];
        if (opts.apply) await tx.$executeRaw(insertErasure(pg, appId, userId, at));
        // The strings to look for in free text: taken before the row is blanked.
        const personal: string[] = [];
        const [userRow] = await tx.$queryRaw<{ id: string; raw: unknown }[]>(userRaw(appId, userId));
        if (userRow) {
          counts.users = 1;
          const user = toJson<MirroredUser>(userRow.raw);
          for (const s of [user.name, ...(user.email ?? []), ...(user.phone ?? [])])
            if (typeof s === "string" && s.length >= 3 && s !== "[DELETED]") personal.push(s);
          const blank = blankUser(user);
          if (opts.apply)
            await tx.$executeRaw(
              eraseUserRow(pg, appId, blank as unknown as Record<string, unknown>, contentHash(blank), at),
            );
        }
        let afterId = "";
        for (;;) {
          const rows = await tx.$queryRaw<{ id: string; raw: unknown }[]>(
            messagesBySender(appId, userId, afterId, PAGE),
          );
          if (rows.length === 0) break;
          afterId = rows.at(-1)?.id ?? afterId;
          counts.messages += rows.length;
          if (!opts.apply) continue;
          for (const r of rows) {
            const blank = blankMessage(toJson<Message>(r.raw));
            await tx.$executeRaw(
              eraseMessageRow(pg, appId, blank as unknown as Record<string, unknown>, contentHash(blank), at),
            );
          }
        }
        const convs = await tx.$queryRaw<{ id: string; raw: unknown }[]>(
          conversationsLastSentBy(appId, userId),
        );
        counts.conversations = convs.length;
        for (const r of opts.apply ? convs : []) {
          const [blank] = redactConversations([toJson<Conversation>(r.raw)], new Set([userId]));
          await tx.$executeRaw(
            eraseConversationLastMessage(
              pg,
              appId,
              blank as unknown as Record<string, unknown>,
              contentHash(blank),
              at,
            ),
          );
        }
        // Their files: read before the references are blanked (the blobs only they point to, and
        // URLs and names to look for in error texts too).
        const refs = await tx.$queryRaw<{ url: string; filename: string | null }[]>(
          senderFileRefs(appId, userId),
        );
        counts.fileRefs = refs.length;
        for (const r of refs)
          for (const s of [r.url, r.filename]) if (typeof s === "string" && s.length >= 3) personal.push(s);
        const release = opts.apply && refs.length > 0 ? eraseSenderFileRefs(pg, appId, userId, at) : null;
        const blobs = await releaseBlobs(tx, blobsOnlyOfSender(appId, userId), release);
        counts.files = blobs.length;
        if (release) removedBlobs.push(...blobs);
        const mentions = (text: unknown) =>
          typeof text === "string" && personal.some((p) => text.includes(p));
        for (const r of await tx.$queryRaw<{ id: number; error: string }[]>(runErrors(appId))) {
          if (!mentions(r.error)) continue;
          counts.errors++;
          if (opts.apply) await tx.$executeRaw(blankRunError(Number(r.id)));
        }
        for (const r of await tx.$queryRaw<{ stream: string; last_error: string }[]>(streamErrors(appId))) {
          if (!mentions(r.last_error)) continue;
          counts.errors++;
          if (opts.apply) await tx.$executeRaw(blankStreamError(appId, r.stream));
        }
        return { counts, removedBlobs };
      },
      { timeout: 600_000, maxWait: 60_000 },
    );
  }

  /** Lifts an erasure: later passes store the user's data again. True when there was one. */
  async undo(appId: string, userId: string): Promise<boolean> {
    return (await this.#db.client.$executeRaw(deleteErasure(appId, userId))) > 0;
  }

  /**
   * Rows soft-deleted before `before` (or, with `apply`, deletes them in one transaction), with the
   * purged messages' file references and the archived files only they point to.
   */
  purge(appId: string, before: Date, opts: { apply: boolean }): Promise<PurgeResult> {
    const { pg } = this.#db;
    return this.#db.client.$transaction(
      async (tx) => {
        const [row] = await tx.$queryRaw<Record<string, unknown>[]>(purgeCounts(pg, appId, before));
        const [refs] = await tx.$queryRaw<{ n: unknown }[]>(purgedFileRefCount(pg, appId, before));
        // Before the messages go: both statements find the references through the purged messages.
        const blobs = await releaseBlobs(
          tx,
          blobsOnlyOfPurged(pg, appId, before),
          opts.apply ? purgeFileRefs(pg, appId, before) : null,
        );
        const counts: PurgeCounts = {
          conversations: toNumber(row?.conversations),
          messages: toNumber(row?.messages),
          users: toNumber(row?.users),
          fileRefs: toNumber(refs?.n),
          files: blobs.length,
        };
        if (opts.apply) {
          await tx.$executeRaw(purgeMessages(pg, appId, before));
          await tx.$executeRaw(purgeMessageState(pg, appId, before));
          await tx.$executeRaw(purgeParticipants(pg, appId, before));
          await tx.$executeRaw(purgeConversations(pg, appId, before));
          await tx.$executeRaw(purgeUsers(pg, appId, before));
        }
        return { counts, removedBlobs: opts.apply ? blobs : [] };
      },
      { timeout: 600_000, maxWait: 60_000 },
    );
  }
}
