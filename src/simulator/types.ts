// Public, in-process interface of the TalkJS API simulator. Tests, benchmarks and the `demo`
// command program against this; `startSimulator` in ./server.ts implements it.
import type { Conversation, ConversationUpdate, Message, UserId } from "../talkjs/types.ts";

/** The docs do not say whether `offsetTs` includes conversations whose timestamp equals it. */
export type OffsetTsMode = "inclusive" | "exclusive";
/** What a `limit` above the maximum does: a 400, or a silent clamp to the maximum. */
export type LimitMode = "reject" | "clamp";

export interface SimulatorOptions {
  /** 0 picks a free port. Default 0 in-process, 8787 from the CLI. */
  port?: number;
  host?: string; // default 127.0.0.1
  appId?: string; // default "demo"
  secretKey?: string; // default "sk_test_demo"
  /** Number of generated conversations. Default 10_000 (CLI) / 0 in-process unless given. */
  conversations?: number;
  seed?: number; // default 42
  offsetTsMode?: OffsetTsMode; // default "exclusive"
  limitMode?: LimitMode; // default "reject"
  /** Max page size of the conversations listing (default 30) and of the messages listing (default 100). */
  maxConversationLimit?: number;
  maxMessageLimit?: number;
  /** Artificial latency added to every request, in ms (default 0). */
  latencyMs?: number;
  /** Simple server-side rate limit: requests per second sustained + burst; 429 with Retry-After past it. Off by default. */
  rateLimit?: { perSecond: number; burst: number; retryAfterSeconds?: number } | null;
  /** Fixed "now" source for generated data and new mutations; default Date.now. */
  now?: () => number;
}

export type FaultKind =
  | { kind: "status"; status: 429 | 500 | 502 | 503 | 504; retryAfter?: string } // retryAfter: header value, seconds or HTTP date
  | { kind: "reset" } // destroy the socket without answering
  | { kind: "slow"; delayMs: number } // answer correctly, after a delay
  | { kind: "malformed-json" } // 200 with a body that is not JSON
  | { kind: "bad-shape"; body: unknown } // 200 with valid JSON of the wrong shape
  | { kind: "truncate"; keep: number } // 200 listing page with only the first `keep` items, then empty pages after it
  | { kind: "first-page-only" }; // a listing's first page answers normally, any later page (startingAfter/offsetTs) is empty

export interface FaultRule {
  fault: FaultKind;
  /** Which requests it applies to; default: every listing request (GET .../conversations). */
  match?: { method?: string; pathPrefix?: string; pathRegex?: RegExp };
  /** Apply to the n-th matching request (1-based) ... */
  nth?: number;
  /** ... or to each matching request with this probability, drawn from a RNG seeded by the simulator seed. */
  probability?: number;
  /** How many times it may fire in total (default: unlimited for probability, 1 for nth). */
  times?: number;
}

export interface RequestLogEntry {
  method: string;
  path: string;
  query: Record<string, string>;
  status: number; // 0 for a reset connection
  at: number; // Date.now() when answered
}

export interface SimulatedMessageInput {
  senderId?: UserId | null; // null/undefined with type SystemMessage
  text?: string;
  type?: "UserMessage" | "SystemMessage";
  createdAt?: number; // default now()
  custom?: Record<string, string>;
  attachment?: { url: string; size: number } | null;
}

export interface SimulatedConversationInput extends ConversationUpdate {
  id: string;
  createdAt?: number; // default now()
  topicId?: string | null;
}

export interface Simulator {
  /** Base URL, e.g. http://127.0.0.1:41234 (no trailing slash); the API lives under /v1/{appId}/. */
  readonly url: string;
  readonly appId: string;
  readonly secretKey: string;

  // --- the data, for assertions (deep copies in documented API shape) ---
  conversation(id: string): Conversation | undefined;
  allConversations(): Conversation[]; // every live conversation, in no particular order
  messages(conversationId: string): Message[]; // newest first, like the API
  deletedIds(): string[];

  // --- mutations, exactly as if made through TalkJS ---
  createConversation(input: SimulatedConversationInput): Conversation;
  /** Adds a message, updating lastMessage (moves the conversation to the front of lastActivity order). */
  addMessage(conversationId: string, message?: SimulatedMessageInput): Message;
  /** Edits a message (text, custom): sets editedAt; the conversation's order does not change. */
  editMessage(
    conversationId: string,
    messageId: string,
    update: { text?: string; custom?: Record<string, string> },
  ): Message;
  /** Deletes a message; deleting the newest one makes the previous one the lastMessage. */
  deleteMessage(conversationId: string, messageId: string): boolean;
  /** Metadata-only edit (PUT merge semantics): lastMessage/lastActivity unchanged. */
  updateConversation(conversationId: string, update: ConversationUpdate): Conversation;
  /** Participation endpoint semantics: removes one participant. */
  removeParticipant(conversationId: string, userId: UserId): void;
  deleteConversation(conversationId: string): boolean;

  // --- control ---
  setOptions(
    options: Partial<Pick<SimulatorOptions, "offsetTsMode" | "limitMode" | "latencyMs" | "rateLimit">>,
  ): void;
  addFault(rule: FaultRule): void;
  clearFaults(): void;
  /** Called before each request is answered, with the 1-based count of requests so far; may mutate data. */
  onRequest(
    hook:
      | ((
          requestNumber: number,
          entry: { method: string; path: string; query: Record<string, string> },
        ) => void)
      | null,
  ): void;
  readonly requestLog: RequestLogEntry[];
  clearRequestLog(): void;

  close(): Promise<void>;
}
