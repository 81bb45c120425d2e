// In-memory state of one simulated app: its conversations and their messages, the two sorted
// indexes the listings page through (./sorted-index.ts), the user index, and the paging and
// filter logic of the listings. Generated conversations stay a skeleton (timestamps and a
// generator index) until read or changed, so an app of 1M conversations fits in memory.
import type { Conversation, ConversationFilter, Message, Participant, UserId } from "../talkjs/types.ts";
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
import { type ConversationPatch, emptyMeta, mergeMeta } from "./meta.ts";
import { BadRequest, matchesCustom, matchesPredicate } from "./query.ts";
import { insertSorted, pageRange, removeSorted, sortByKey, type TsKey } from "./sorted-index.ts";
import type {
  DeletedAnchorMode,
  OffsetTsMode,
  SimulatedConversationInput,
  SimulatedMessageInput,
} from "./types.ts";
import { UserDirectory } from "./user-directory.ts";
import { UserIndex } from "./user-index.ts";
import type { WebhookEventType } from "./webhooks.ts";

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

const createdKey: TsKey<ConvRecord> = (r) => r.createdAt;
const activityKey: TsKey<ConvRecord> = (r) => r.lastActivity;

export interface ListQuery {
  orderBy: "lastActivity" | "createdAt";
  direction: "ASC" | "DESC";
  limit: number;
  startingAfter?: string | undefined;
  offsetTs?: number | undefined;
  offsetTsMode: OffsetTsMode;
  /** A startingAfter naming a deleted conversation: continue from its place (default), [] or 400. */
  deletedAnchor?: DeletedAnchorMode | undefined;
  lastMessageBefore?: number | undefined;
  lastMessageAfter?: number | undefined;
  filter?: ConversationFilter | undefined;
  /** Set for GET users/{userId}/conversations: only conversations this user participates in. */
  userId?: UserId | undefined;
}

export class AppStore {
  private readonly byId = new Map<string, ConvRecord>();
  private byCreated: ConvRecord[] = [];
  private byActivity: ConvRecord[] = [];
  /** Former position of deleted conversations, so a cursor pointing at one still works. */
  private readonly tombstones = new Map<string, { createdAt: number; lastActivity: number }>();
  private readonly users = new UserIndex<ConvRecord>((add) => {
    const names: UserId[] = []; // one string per pool user, not one per participation
    for (const r of this.byCreated) {
      if (r.meta) {
        for (const u of Object.keys(r.meta.participants)) add(u, r);
      } else {
        for (const n of generateParticipantNumbers(this.seed, r.genIndex, this.poolSize)) {
          names[n] ??= poolUserId(n);
          add(names[n] as UserId, r);
        }
      }
    }
  });
  private readonly poolSize: number;
  /** The app's users (GET/PUT users); participants and senders added later get a user too. */
  readonly directory: UserDirectory;
  private messageCounter = 0;
  /** Webhook events of the mutations (./webhooks.ts); null: none sent. */
  onEvent: ((type: WebhookEventType, data: Record<string, unknown>) => void) | null = null;
  /** Where generated attachments point: the simulator's own /files/ (set once it listens). */
  fileBaseUrl = "https://files.example.com";
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
    /** An app that starts with nothing, not even the generated user pool (a restore's target). */
    empty = false,
  ) {
    this.poolSize = empty ? 0 : userPoolSize(conversationCount);
    const generatedAt = now();
    this.directory = new UserDirectory(seed, this.poolSize, generatedAt, now);
    this.directory.onPut = (user, created) =>
      this.onEvent?.(created ? "user.created" : "user.updated", { user });
    const skeletons = generateSkeletons(conversationCount, seed, generatedAt);
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
    this.byCreated = sortByKey(records.slice(), createdKey);
    this.byActivity = sortByKey(records, activityKey);
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
      return generateMessages(this.seed, this.skeletonOf(r), this.metaOf(r), take, this.fileBaseUrl);
    const cached = this.historyCache.get(r.id);
    if (cached) {
      this.historyCache.delete(r.id);
      this.historyCache.set(r.id, cached);
      return cached;
    }
    const all = generateMessages(this.seed, this.skeletonOf(r), this.metaOf(r), take, this.fileBaseUrl);
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

  /** A user "exists" iff they participate in at least one conversation (good enough here). */
  userExists(userId: UserId): boolean {
    return this.users.has(userId);
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
      arr = sortByKey([...(this.users.of(q.userId) ?? [])], key);
    }
    let after: { ts: number; id: string } | undefined;
    if (q.startingAfter !== undefined) {
      const live = this.byId.get(q.startingAfter);
      const dead = this.tombstones.get(q.startingAfter);
      const pos = live ?? dead;
      if (!pos) throw new BadRequest(`startingAfter: no conversation "${q.startingAfter}"`);
      if (!live && q.deletedAnchor === "empty") return [];
      if (!live && q.deletedAnchor === "reject")
        throw new BadRequest(`startingAfter: conversation "${q.startingAfter}" was deleted`);
      after = { ts: q.orderBy === "createdAt" ? pos.createdAt : pos.lastActivity, id: q.startingAfter };
    }
    const { first, last } = pageRange(
      arr,
      key,
      q.direction,
      after,
      q.offsetTs,
      q.offsetTsMode === "inclusive",
    );
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
    removeSorted(this.byActivity, activityKey, r.lastActivity, r.id);
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
    const createdAt = input.createdAt ?? this.now();
    const meta = mergeMeta(emptyMeta(input.topicId ?? null), input);
    const r: ConvRecord = {
      id: input.id,
      genIndex: -1,
      createdAt,
      lastMessageAt: null,
      lastActivity: createdAt,
      messageCount: 0,
      meta,
      messages: [],
    };
    this.byId.set(r.id, r);
    this.tombstones.delete(r.id);
    insertSorted(this.byCreated, createdKey, r);
    insertSorted(this.byActivity, activityKey, r);
    for (const u of Object.keys(meta.participants)) {
      this.users.add(u, r);
      this.directory.ensure(u);
    }
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
    for (const u of Object.keys(r.meta.participants)) {
      this.users.add(u, r);
      this.directory.ensure(u);
    }
    return this.toConversation(r);
  }

  /** Participant endpoint PUT: adds the user (ReadWrite, notify) or changes their settings. */
  setParticipant(id: string, userId: UserId, settings: Partial<Participant>): void {
    const r = this.mustGet(id);
    const { meta } = this.materialize(r);
    const current = meta.participants[userId] ?? { access: "ReadWrite", notify: true };
    meta.participants[userId] = { ...current, ...settings };
    this.users.add(userId, r);
    this.directory.ensure(userId);
  }

  removeParticipant(id: string, userId: UserId): void {
    const r = this.mustGet(id);
    const { meta } = this.materialize(r);
    delete meta.participants[userId];
    this.users.remove(userId, r);
  }

  /** `viaRest`: TalkJS sends conversation.deleted only for deletions through the REST API. */
  deleteConversation(id: string, viaRest = false): boolean {
    const r = this.byId.get(id);
    if (!r) return false;
    if (viaRest) this.onEvent?.("conversation.deleted", { conversation: { id } });
    for (const u of Object.keys(this.metaOf(r).participants)) this.users.remove(u, r);
    removeSorted(this.byCreated, createdKey, r.createdAt, r.id);
    removeSorted(this.byActivity, activityKey, r.lastActivity, r.id);
    this.byId.delete(id);
    this.tombstones.set(id, { createdAt: r.createdAt, lastActivity: r.lastActivity });
    return true;
  }

  addMessage(conversationId: string, input: SimulatedMessageInput = {}): Message {
    const r = this.mustGet(conversationId);
    const { messages } = this.materialize(r);
    const type = input.type ?? (input.senderId ? "UserMessage" : "SystemMessage");
    if (input.senderId) this.directory.ensure(input.senderId);
    const message: Message = {
      id: `msg_n${(this.messageCounter++).toString(36)}`,
      conversationId,
      type,
      senderId: input.senderId ?? null,
      readBy: input.readBy ?? [],
      text: input.text ?? "New message",
      attachment: input.attachment ?? null,
      ...(input.content !== undefined ? { content: input.content } : {}),
      location: null,
      origin: input.origin ?? "rest",
      createdAt: input.createdAt ?? this.now(),
      editedAt: null,
      referencedMessageId: null,
      custom: input.custom ?? {},
    };
    // newest first; a message at the same millisecond as the newest counts as newer
    const at = messages.findIndex((m) => m.createdAt <= message.createdAt);
    messages.splice(at < 0 ? messages.length : at, 0, message);
    this.setActivity(r, messages[0]?.createdAt ?? null);
    this.onEvent?.("message.sent", {
      conversation: { id: conversationId },
      message: structuredClone(message),
    });
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
    this.onEvent?.("message.updated", { conversation: { id: conversationId }, message: structuredClone(m) });
    return structuredClone(m);
  }

  /** Deletes one message; when it was the newest, the conversation's lastMessage becomes the one before. */
  deleteMessage(conversationId: string, messageId: string): boolean {
    const r = this.mustGet(conversationId);
    const { messages } = this.materialize(r);
    const i = messages.findIndex((x) => x.id === messageId);
    if (i < 0) return false;
    const [gone] = messages.splice(i, 1);
    if (i === 0) this.setActivity(r, messages[0]?.createdAt ?? null);
    this.onEvent?.("message.deleted", { conversation: { id: conversationId }, message: gone });
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

  /**
   * TalkJS's privacy example: the user's name becomes "[DELETED]", email, phone, photo and custom
   * are cleared, and the text of every message they sent in their conversations becomes
   * "[DELETED]" (an edit: editedAt is set). An erasure reaches a mirror only as these edits.
   */
  anonymiseUser(id: UserId): number {
    this.directory.put(id, { name: "[DELETED]", email: null, phone: null, custom: null, photoUrl: null });
    let edited = 0;
    for (const r of [...(this.users.of(id) ?? [])]) {
      for (const m of this.materialize(r).messages) {
        if (m.senderId !== id) continue;
        m.text = "[DELETED]";
        m.editedAt = Math.max(this.now(), m.createdAt + 1);
        // The privacy example edits each message through REST: each sends message.updated.
        this.onEvent?.("message.updated", { conversation: { id: r.id }, message: structuredClone(m) });
        edited++;
      }
    }
    return edited;
  }
}
