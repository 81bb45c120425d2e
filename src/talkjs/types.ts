// The TalkJS REST objects, exactly as documented in the API reference
// (shared/talkjs-conversations-api.md). The simulator serves these shapes and the client
// validates responses against them.

export type ConversationId = string;
export type UserId = string;
/** Unix time in milliseconds. */
export type UnixMilliseconds = number;

export type ParticipantAccess = "ReadWrite" | "Read" | "None";

export interface Participant {
  access: ParticipantAccess;
  notify: boolean;
}

export type MessageType = "UserMessage" | "SystemMessage";
export type MessageOrigin = "web" | "rest" | "email" | "import";

export interface Attachment {
  url: string;
  size: number;
}

export interface Message {
  id: string;
  conversationId: ConversationId;
  type: MessageType;
  senderId: UserId | null;
  readBy: UserId[];
  text: string;
  attachment: Attachment | null;
  location: [number, number] | null;
  /** Newer content blocks that replace text/attachment/location; absent on older messages. */
  content?: unknown[];
  origin: MessageOrigin;
  createdAt: UnixMilliseconds;
  editedAt: UnixMilliseconds | null;
  referencedMessageId: string | null;
  custom: Record<string, string>;
}

export interface Conversation {
  id: ConversationId;
  subject: string | null;
  photoUrl: string | null;
  welcomeMessages: string[] | null;
  custom: Record<string, string>;
  lastMessage: Message | null;
  participants: Record<UserId, Participant>;
  createdAt: UnixMilliseconds;
  topicId: string | null;
}

/** Body of PUT /v1/{appId}/conversations/{id}: merged into the existing conversation (PATCH semantics). */
export interface ConversationUpdate {
  participants?: UserId[];
  subject?: string | null;
  welcomeMessages?: string[] | null;
  custom?: Record<string, string> | null;
  photoUrl?: string | null;
}

export type OrderBy = "lastActivity" | "createdAt";
export type OrderDirection = "ASC" | "DESC";

/** Query parameters of GET /v1/{appId}/conversations (one page). */
export interface ListConversationsParams {
  limit?: number;
  orderBy?: OrderBy;
  orderDirection?: OrderDirection;
  startingAfter?: ConversationId;
  offsetTs?: UnixMilliseconds;
  lastMessageBefore?: UnixMilliseconds;
  lastMessageAfter?: UnixMilliseconds;
  /** A ConversationFilter, serialised to URL-encoded JSON on the wire. */
  filter?: ConversationFilter;
}

export type FieldPredicate = ["==" | "!=", string] | ["oneOf" | "!oneOf", string[]];

export interface ConversationFilter {
  custom?: Record<string, FieldPredicate | "exists" | "!exists">;
  hasUnreadMessages?: boolean;
  access?: FieldPredicate;
}

/**
 * `lastActivity` is not a field of the object: it is the last message's createdAt, or the
 * conversation's createdAt when it has no message (API reference, "What the docs leave open").
 */
export function lastActivityOf(
  conversation: Pick<Conversation, "createdAt" | "lastMessage">,
): UnixMilliseconds {
  return conversation.lastMessage?.createdAt ?? conversation.createdAt;
}

/**
 * A user (GET /v1/{appId}/users/{id}). `pushTokens` are device credentials: the client strips
 * them before anything else sees the object (see MirroredUser), so no layer can store them.
 */
export interface User {
  id: UserId;
  name: string | null;
  welcomeMessage: string | null;
  photoUrl: string | null;
  headerPhotoUrl: string | null;
  role: string | null;
  email: string[] | null;
  phone: string[] | null;
  custom: Record<string, string>;
  availabilityText: string | null;
  locale: string | null;
  createdAt: UnixMilliseconds;
  pushTokens?: Record<string, true> | null;
}

/** A user as the client hands it on: everything TalkJS answered except `pushTokens`. */
export type MirroredUser = Omit<User, "pushTokens">;

/** Body of PUT /v1/{appId}/users/{id}: merged into the existing user, or creates it. */
export interface UserUpdate {
  name?: string | null;
  welcomeMessage?: string | null;
  photoUrl?: string | null;
  headerPhotoUrl?: string | null;
  role?: string | null;
  email?: string[] | null;
  phone?: string[] | null;
  custom?: Record<string, string | null> | null;
  availabilityText?: string | null;
  locale?: string | null;
  pushTokens?: Record<string, true | null> | null;
}
