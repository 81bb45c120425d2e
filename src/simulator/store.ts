// In-memory state of one simulated app: the conversations, two sorted indexes, and the
// ordering/paging/filter logic of the listings.
//
// Both indexes are arrays sorted ascending by (timestamp, id) — the id tiebreaker makes the
// order total and deterministic even with hundreds of conversations in one millisecond. A page
// is a binary search for its start followed by a walk, so listing never re-sorts the app;
// mutations move one record with two binary searches and a splice.
import type {
  Conversation,
  ConversationFilter,
  ConversationUpdate,
  Message,
  UserId,
} from "../talkjs/types.ts";
import {
  type ConversationMeta,
  generateMessages,
  generateMeta,
  generateParticipantNumbers,
  generateSkeletons,
  userId as poolUserId,
  type Skeleton,
  userPoolSize,
} from "./generator.ts";
import { BadRequest, matchesCustom, matchesPredicate } from "./query.ts";
import type { OffsetTsMode, SimulatedConversationInput, SimulatedMessageInput } from "./types.ts";

interface ConvRecord {
  readonly id: string;
  /** Index in the generated app, or -1 for conversations created later. */
  readonly genIndex: number;
  readonly createdAt: number;
  lastMessageAt: number | null;
  lastActivity: number;
  /** Generated message count; only meaningful while `messages` is null. */
  messageCount: number;
  /** null: still the generated metadata, derived on demand (saves memory at 1M conversations). */
  meta: ConversationMeta | null;
  /** null: still the generated history. Newest first once materialised. */
  messages: Message[] | null;
}

/** Generated histories kept (see AppStore.historyCache): at most ~3,000 messages each. */
const HISTORY_CACHE_SIZE = 64;

type TsKey = (r: ConvRecord) => number;
const createdKey: TsKey = (r) => r.createdAt;
const activityKey: TsKey = (r) => r.lastActivity;

/** Total order on (ts, id): the timestamp, then the id (UTF-16 code unit order) as tiebreaker. */
export function compareTsId(aTs: number, aId: string, bTs: number, bId: string): number {
  if (aTs !== bTs) return aTs < bTs ? -1 : 1;
  return aId < bId ? -1 : aId > bId ? 1 : 0;
}

/** First index whose (ts, id) is >= (ts, id) — or > when `strict`. */
function boundByKey(arr: ConvRecord[], key: TsKey, ts: number, id: string, strict: boolean): number {
  let lo = 0;
  let hi = arr.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    const r = arr[mid] as ConvRecord;
    const c = compareTsId(key(r), r.id, ts, id);
    if (c < 0 || (strict && c === 0)) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** First index whose timestamp is >= ts — or > when `strict`. */
function boundByTs(arr: ConvRecord[], key: TsKey, ts: number, strict: boolean): number {
  let lo = 0;
  let hi = arr.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    const k = key(arr[mid] as ConvRecord);
    if (k < ts || (strict && k === ts)) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * The index range [first, last] of an ascending array that a page may draw from, walking
 * forwards for ASC and backwards for DESC. `after` is the cursor's (ts, id); offsetTs bounds by
 * timestamp only: ASC keeps ts > offsetTs (>= when inclusive), DESC keeps ts < offsetTs (<=).
 * When both are given both apply, i.e. the more restrictive one wins.
 */
export function pageRange(
  arr: ConvRecord[],
  key: TsKey,
  direction: "ASC" | "DESC",
  after: { ts: number; id: string } | undefined,
  offsetTs: number | undefined,
  offsetTsMode: OffsetTsMode,
): { first: number; last: number } {
  let first = 0;
  let last = arr.length - 1;
  const inclusive = offsetTsMode === "inclusive";
  if (direction === "ASC") {
    if (after) first = Math.max(first, boundByKey(arr, key, after.ts, after.id, true));
    if (offsetTs !== undefined) first = Math.max(first, boundByTs(arr, key, offsetTs, !inclusive));
  } else {
    if (after) last = Math.min(last, boundByKey(arr, key, after.ts, after.id, false) - 1);
    if (offsetTs !== undefined) last = Math.min(last, boundByTs(arr, key, offsetTs, inclusive) - 1);
  }
  return { first, last };
}

function insertSorted(arr: ConvRecord[], key: TsKey, r: ConvRecord): void {
  arr.splice(boundByKey(arr, key, key(r), r.id, false), 0, r);
}

function removeSorted(arr: ConvRecord[], ts: number, id: string, key: TsKey): void {
  const i = boundByKey(arr, key, ts, id, false);
  if (arr[i]?.id !== id) throw new Error(`index corrupt: ${id} not at its position`);
  arr.splice(i, 1);
}

export interface ListQuery {
  orderBy: "lastActivity" | "createdAt";
  direction: "ASC" | "DESC";
  limit: number;
  startingAfter?: string | undefined;
  offsetTs?: number | undefined;
  offsetTsMode: OffsetTsMode;
  lastMessageBefore?: number | undefined;
  lastMessageAfter?: number | undefined;
  filter?: ConversationFilter | undefined;
  /** Set for GET users/{userId}/conversations: only conversations this user participates in. */
  userId?: UserId | undefined;
}

/** `custom` of a PUT body: a null value deletes that key (our reading; the docs are silent). */
export type CustomPatch = Record<string, string | null>;
export type ConversationPatch = Omit<ConversationUpdate, "custom"> & { custom?: CustomPatch | null };

/**
 * PUT merge semantics, as a pure function: only the fields present change; participants are
 * added (new ones get ReadWrite + notify), never removed, existing ones keep their settings;
 * `custom` merges key by key, a null value deletes the key, and `custom: null` clears all.
 */
export function mergeMeta(meta: ConversationMeta, patch: ConversationPatch): ConversationMeta {
  const next: ConversationMeta = structuredClone(meta);
  if (patch.subject !== undefined) next.subject = patch.subject;
  if (patch.photoUrl !== undefined) next.photoUrl = patch.photoUrl;
  if (patch.welcomeMessages !== undefined) next.welcomeMessages = patch.welcomeMessages;
  if (patch.custom === null) next.custom = {};
  else if (patch.custom !== undefined) {
    for (const [k, v] of Object.entries(patch.custom)) {
      if (v === null) delete next.custom[k];
      else next.custom[k] = v;
    }
  }
  for (const user of patch.participants ?? []) {
    if (!Object.hasOwn(next.participants, user))
      next.participants[user] = { access: "ReadWrite", notify: true };
  }
  return next;
}

export class AppStore {
  private readonly byId = new Map<string, ConvRecord>();
  private byCreated: ConvRecord[] = [];
  private byActivity: ConvRecord[] = [];
  /** Former position of deleted conversations, so a cursor pointing at one still works. */
  private readonly tombstones = new Map<string, { createdAt: number; lastActivity: number }>();
  /** userId -> conversations they participate in (unordered); built on first need, then kept up to date. */
  private userIndex: Map<UserId, ConvRecord[]> | null = null;
  private readonly poolSize: number;
  private messageCounter = 0;
  /**
   * Generated histories of the conversations read most recently (bounded, insertion order as LRU).
   * A history is a pure function of (seed, index) and paging one of 3,000 messages 100 at a time
   * would otherwise regenerate it 30 times (quadratic); a handful of entries covers the mirror's
   * concurrent readers and memory stays bounded at 1M conversations.
   */
  private readonly historyCache = new Map<string, Message[]>();

  constructor(
    private readonly seed: number,
    conversationCount: number,
    private readonly now: () => number,
  ) {
    this.poolSize = userPoolSize(conversationCount);
    const skeletons = generateSkeletons(conversationCount, seed, now());
    const records: ConvRecord[] = skeletons.map((s) => ({
      id: s.id,
      genIndex: s.index,
      createdAt: s.createdAt,
      lastMessageAt: s.lastMessageAt,
      lastActivity: s.lastMessageAt ?? s.createdAt,
      messageCount: s.messageCount,
      meta: null,
      messages: null,
    }));
    for (const r of records) this.byId.set(r.id, r);
    this.byCreated = records.slice().sort((a, b) => compareTsId(a.createdAt, a.id, b.createdAt, b.id));
    this.byActivity = records.sort((a, b) => compareTsId(a.lastActivity, a.id, b.lastActivity, b.id));
  }

  get size(): number {
    return this.byId.size;
  }

  has(id: string): boolean {
    return this.byId.has(id);
  }

  // --- reading ---

  private metaOf(r: ConvRecord): ConversationMeta {
    return r.meta ?? generateMeta(this.seed, r.genIndex, this.poolSize);
  }

  private skeletonOf(r: ConvRecord): Skeleton {
    return {
      id: r.id,
      index: r.genIndex,
      createdAt: r.createdAt,
      lastMessageAt: r.lastMessageAt,
      messageCount: r.messageCount,
    };
  }

  private messagesOf(r: ConvRecord, take = Number.POSITIVE_INFINITY): Message[] {
    if (r.messages) return r.messages;
    // The lastMessage of every listed conversation asks for one message: not worth caching (and
    // it would evict the long histories the cache is for).
    if (take !== Number.POSITIVE_INFINITY)
      return generateMessages(this.seed, this.skeletonOf(r), this.metaOf(r), take);
    const cached = this.historyCache.get(r.id);
    if (cached) {
      this.historyCache.delete(r.id);
      this.historyCache.set(r.id, cached);
      return cached;
    }
    const all = generateMessages(this.seed, this.skeletonOf(r), this.metaOf(r), take);
    this.historyCache.set(r.id, all);
    if (this.historyCache.size > HISTORY_CACHE_SIZE) {
      const oldest = this.historyCache.keys().next().value;
      if (oldest !== undefined) this.historyCache.delete(oldest);
    }
    return all;
  }

  private lastMessageOf(r: ConvRecord): Message | null {
    return this.messagesOf(r, 1)[0] ?? null;
  }

  private toConversation(r: ConvRecord): Conversation {
    const meta = this.metaOf(r);
    return structuredClone({
      id: r.id,
      subject: meta.subject,
      photoUrl: meta.photoUrl,
      welcomeMessages: meta.welcomeMessages,
      custom: meta.custom,
      lastMessage: this.lastMessageOf(r),
      participants: meta.participants,
      createdAt: r.createdAt,
      topicId: meta.topicId,
    });
  }

  conversation(id: string): Conversation | undefined {
    const r = this.byId.get(id);
    return r ? this.toConversation(r) : undefined;
  }

  allConversations(): Conversation[] {
    return this.byCreated.map((r) => this.toConversation(r));
  }

  messages(conversationId: string): Message[] | undefined {
    const r = this.byId.get(conversationId);
    return r ? structuredClone(this.messagesOf(r)) : undefined;
  }

  deletedIds(): string[] {
    return [...this.tombstones.keys()];
  }

  /** One page of messages, newest first, starting after `startingAfter` (unknown id: 400). */
  listMessages(
    conversationId: string,
    limit: number,
    startingAfter: string | undefined,
  ): Message[] | undefined {
    const r = this.byId.get(conversationId);
    if (!r) return undefined;
    const all = this.messagesOf(r);
    let start = 0;
    if (startingAfter !== undefined) {
      const i = all.findIndex((m) => m.id === startingAfter);
      if (i < 0) throw new BadRequest(`startingAfter: no message "${startingAfter}" in this conversation`);
      start = i + 1;
    }
    return structuredClone(all.slice(start, start + limit));
  }

  private buildUserIndex(): Map<UserId, ConvRecord[]> {
    if (this.userIndex) return this.userIndex;
    const index = new Map<UserId, ConvRecord[]>();
    const names: UserId[] = []; // one string per pool user, not one per participation
    for (const r of this.byCreated) {
      if (r.meta) {
        for (const u of Object.keys(r.meta.participants)) this.indexAdd(index, u, r);
      } else {
        for (const n of generateParticipantNumbers(this.seed, r.genIndex, this.poolSize)) {
          names[n] ??= poolUserId(n);
          this.indexAdd(index, names[n] as UserId, r);
        }
      }
    }
    this.userIndex = index;
    return index;
  }

  private indexAdd(index: Map<UserId, ConvRecord[]>, user: UserId, r: ConvRecord): void {
    const list = index.get(user);
    if (!list) index.set(user, [r]);
    else if (!list.includes(r)) list.push(r);
  }

  private indexRemove(user: UserId, r: ConvRecord): void {
    const list = this.userIndex?.get(user);
    if (!list) return;
    const i = list.indexOf(r);
    if (i >= 0) list.splice(i, 1);
    if (list.length === 0) this.userIndex?.delete(user);
  }

  /** A user "exists" iff they participate in at least one conversation (good enough here). */
  userExists(userId: UserId): boolean {
    return this.buildUserIndex().has(userId);
  }

  /**
   * One page of a conversations listing. A cursor that never existed is a 400 (a silent empty
   * page would look like the end of the listing); a cursor pointing at a deleted conversation
   * continues from where that conversation was, like a live cursor would.
   */
  list(q: ListQuery): Conversation[] {
    const key = q.orderBy === "createdAt" ? createdKey : activityKey;
    let arr = q.orderBy === "createdAt" ? this.byCreated : this.byActivity;
    if (q.userId !== undefined) {
      // A user's conversations are few: sorting them per request is cheaper than keeping
      // per-user indexes ordered, and pageRange works on any ascending array.
      arr = (this.buildUserIndex().get(q.userId) ?? [])
        .slice()
        .sort((a, b) => compareTsId(key(a), a.id, key(b), b.id));
    }
    let after: { ts: number; id: string } | undefined;
    if (q.startingAfter !== undefined) {
      const live = this.byId.get(q.startingAfter);
      const dead = this.tombstones.get(q.startingAfter);
      const pos = live ?? dead;
      if (!pos) throw new BadRequest(`startingAfter: no conversation "${q.startingAfter}"`);
      after = { ts: q.orderBy === "createdAt" ? pos.createdAt : pos.lastActivity, id: q.startingAfter };
    }
    const { first, last } = pageRange(arr, key, q.direction, after, q.offsetTs, q.offsetTsMode);
    const out: Conversation[] = [];
    const step = q.direction === "ASC" ? 1 : -1;
    for (
      let i = q.direction === "ASC" ? first : last;
      i >= first && i <= last && out.length < q.limit;
      i += step
    ) {
      const r = arr[i] as ConvRecord;
      if (this.matches(r, q)) out.push(this.toConversation(r));
    }
    return out;
  }

  /**
   * Per-conversation filters. lastMessageBefore/After are strict (< and >) and never match a
   * conversation without messages (API reference, "What the docs leave open"); access and
   * hasUnreadMessages are about the listed user, so they only apply to a user listing.
   * "Unread" means the last message is from someone else and not in the user's readBy.
   */
  private matches(r: ConvRecord, q: ListQuery): boolean {
    if (
      q.lastMessageBefore !== undefined &&
      (r.lastMessageAt === null || !(r.lastMessageAt < q.lastMessageBefore))
    )
      return false;
    if (
      q.lastMessageAfter !== undefined &&
      (r.lastMessageAt === null || !(r.lastMessageAt > q.lastMessageAfter))
    )
      return false;
    const f = q.filter;
    if (!f) return true;
    const meta = this.metaOf(r);
    if (!matchesCustom(f.custom, meta.custom)) return false;
    if (q.userId !== undefined) {
      const participant = meta.participants[q.userId];
      if (f.access && !matchesPredicate(f.access, participant?.access)) return false;
      if (f.hasUnreadMessages !== undefined) {
        const last = this.lastMessageOf(r);
        const unread = last !== null && last.senderId !== q.userId && !last.readBy.includes(q.userId);
        if (unread !== f.hasUnreadMessages) return false;
      }
    }
    return true;
  }

  // --- mutations ---

  private materialize(r: ConvRecord): { meta: ConversationMeta; messages: Message[] } {
    r.meta ??= this.metaOf(r);
    if (!r.messages) {
      // From now on the record owns (and mutates) its history; the cache must not serve it.
      r.messages = this.messagesOf(r);
      this.historyCache.delete(r.id);
    }
    return { meta: r.meta, messages: r.messages };
  }

  private setActivity(r: ConvRecord, lastMessageAt: number | null): void {
    removeSorted(this.byActivity, r.lastActivity, r.id, activityKey);
    r.lastMessageAt = lastMessageAt;
    r.lastActivity = lastMessageAt ?? r.createdAt;
    insertSorted(this.byActivity, activityKey, r);
  }

  private mustGet(id: string): ConvRecord {
    const r = this.byId.get(id);
    if (!r) throw new Error(`no conversation "${id}"`);
    return r;
  }

  createConversation(input: SimulatedConversationInput): Conversation {
    if (this.byId.has(input.id)) throw new Error(`conversation "${input.id}" already exists`);
    const base: ConversationMeta = {
      subject: null,
      photoUrl: null,
      welcomeMessages: null,
      custom: {},
      participants: {},
      topicId: input.topicId ?? null,
    };
    const createdAt = input.createdAt ?? this.now();
    const r: ConvRecord = {
      id: input.id,
      genIndex: -1,
      createdAt,
      lastMessageAt: null,
      lastActivity: createdAt,
      messageCount: 0,
      meta: mergeMeta(base, input),
      messages: [],
    };
    this.byId.set(r.id, r);
    this.tombstones.delete(r.id);
    insertSorted(this.byCreated, createdKey, r);
    insertSorted(this.byActivity, activityKey, r);
    if (this.userIndex && r.meta)
      for (const u of Object.keys(r.meta.participants)) this.indexAdd(this.userIndex, u, r);
    return this.toConversation(r);
  }

  /** PUT: merge into an existing conversation, or create it (createdAt = now). */
  upsertConversation(id: string, patch: ConversationPatch): Conversation {
    const r = this.byId.get(id);
    if (!r) {
      const { custom, ...rest } = patch;
      const created = this.createConversation({ id, ...rest });
      return custom ? this.updateConversation(id, { custom }) : created;
    }
    return this.updateConversation(id, patch);
  }

  updateConversation(id: string, patch: ConversationPatch): Conversation {
    const r = this.mustGet(id);
    const { meta } = this.materialize(r);
    r.meta = mergeMeta(meta, patch);
    if (this.userIndex) for (const u of Object.keys(r.meta.participants)) this.indexAdd(this.userIndex, u, r);
    return this.toConversation(r);
  }

  removeParticipant(id: string, userId: UserId): void {
    const r = this.mustGet(id);
    const { meta } = this.materialize(r);
    delete meta.participants[userId];
    this.indexRemove(userId, r);
  }

  deleteConversation(id: string): boolean {
    const r = this.byId.get(id);
    if (!r) return false;
    for (const u of Object.keys(this.metaOf(r).participants)) this.indexRemove(u, r);
    removeSorted(this.byCreated, r.createdAt, r.id, createdKey);
    removeSorted(this.byActivity, r.lastActivity, r.id, activityKey);
    this.byId.delete(id);
    this.tombstones.set(id, { createdAt: r.createdAt, lastActivity: r.lastActivity });
    return true;
  }

  addMessage(conversationId: string, input: SimulatedMessageInput = {}): Message {
    const r = this.mustGet(conversationId);
    const { messages } = this.materialize(r);
    const type = input.type ?? (input.senderId ? "UserMessage" : "SystemMessage");
    const message: Message = {
      id: `msg_n${(this.messageCounter++).toString(36)}`,
      conversationId,
      type,
      senderId: input.senderId ?? null,
      readBy: [],
      text: input.text ?? "New message",
      attachment: input.attachment ?? null,
      location: null,
      origin: "rest",
      createdAt: input.createdAt ?? this.now(),
      editedAt: null,
      referencedMessageId: null,
      custom: input.custom ?? {},
    };
    // newest first; a message at the same millisecond as the newest counts as newer
    const at = messages.findIndex((m) => m.createdAt <= message.createdAt);
    messages.splice(at < 0 ? messages.length : at, 0, message);
    this.setActivity(r, messages[0]?.createdAt ?? null);
    return structuredClone(message);
  }

  /** Edits a message's text (and custom fields): editedAt is set; a lastMessage edit shows on the conversation. */
  editMessage(
    conversationId: string,
    messageId: string,
    update: { text?: string; custom?: Record<string, string> },
  ): Message {
    const r = this.mustGet(conversationId);
    const { messages } = this.materialize(r);
    const m = messages.find((x) => x.id === messageId);
    if (!m) throw new Error(`no message "${messageId}" in conversation "${conversationId}"`);
    if (update.text !== undefined) m.text = update.text;
    if (update.custom !== undefined) m.custom = { ...m.custom, ...update.custom };
    m.editedAt = Math.max(this.now(), m.createdAt + 1);
    return structuredClone(m);
  }

  /** Deletes one message; when it was the newest, the conversation's lastMessage becomes the one before. */
  deleteMessage(conversationId: string, messageId: string): boolean {
    const r = this.mustGet(conversationId);
    const { messages } = this.materialize(r);
    const i = messages.findIndex((x) => x.id === messageId);
    if (i < 0) return false;
    messages.splice(i, 1);
    if (i === 0) this.setActivity(r, messages[0]?.createdAt ?? null);
    return true;
  }

  /** Mark-as-read: every message not sent by the user gets the user in readBy. */
  markRead(conversationId: string, userId: UserId): boolean {
    const r = this.byId.get(conversationId);
    if (!r) return false;
    const { messages } = this.materialize(r);
    for (const m of messages) if (m.senderId !== userId && !m.readBy.includes(userId)) m.readBy.push(userId);
    return true;
  }
}
