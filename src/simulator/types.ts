// Public, in-process interface of the TalkJS API simulator. Tests, benchmarks and the `demo`
// command program against this; `startSimulator` in ./server.ts implements it.

import type { Conversation, ConversationUpdate, Message, User, UserId, UserUpdate } from "../talkjs/types.ts";
import type { AppStore } from "./app-store.ts";

/** The docs do not say whether `offsetTs` includes conversations whose timestamp equals it. */
export type OffsetTsMode = "inclusive" | "exclusive";
/**
 * What a conversations listing does with a startingAfter naming a DELETED conversation (the docs
 * are silent): continue from where it was (default), answer an empty page, or answer 400.
 */
export type DeletedAnchorMode = "continue" | "empty" | "reject";
/** What a `limit` above the maximum does: a 400, or a silent clamp to the maximum. */
export type LimitMode = "reject" | "clamp";

import type { WebhookSender } from "./webhooks.ts";

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
  deletedAnchor?: DeletedAnchorMode; // default "continue"
  limitMode?: LimitMode; // default "reject"
  /** Max page size of the conversations listing (default 30) and of the messages listing (default 100). */
  maxConversationLimit?: number;
  maxMessageLimit?: number;
  /** Artificial latency added to every request, in ms (default 0). */
  latencyMs?: number;
  /**
   * Server-side per-app rate limit: requests per second sustained + burst; 429 with Retry-After
   * past it (`retryAfterSeconds` may be a fraction, for scaled-time tests). Off by default.
   */
  rateLimit?: { perSecond: number; burst: number; retryAfterSeconds?: number } | null;
  /** File URLs expire this long after a read hands them out (a later read gives a new URL); default never. */
  fileUrlTtlMs?: number | null;
  /** Fixed "now" source for generated data and new mutations; default Date.now. */
  now?: () => number;
  /**
   * Most request log entries kept (default 100,000): a long benchmark or soak must not grow the
   * simulator's memory without bound. Past it the oldest half is dropped.
   */
  requestLogLimit?: number;
  /** POST signed webhooks of every mutation here (see ./webhooks.ts; also Simulator.webhooks.configure). */
  webhookUrl?: string;
  /**
   * Every app served, e.g. ["demo", "demo-copy"] (default: just `appId`). The first is the
   * generated one (`conversations`), the others start empty; each has the secret key
   * `sk_test_<app>` (the first: `secretKey` when given).
   */
  apps?: string[];
  /** Which payload the import endpoint accepts (default "documented"); see routes/import.ts. */
  importShape?: ImportShape;
  /** Most messages one import request may carry (default 10 documented, 100 script). */
  importMaxBatch?: number;
}

/**
 * The two payloads of POST /v1/{appId}/import/conversations/{id}/messages: the documented items
 * `{text, sender, timestamp, readBy, type, attachmentToken?, custom?}`, or TalkJS's transfer
 * script's `{sender, createdAt, content, readBy?, type?, custom?}`.
 */
export type ImportShape = "documented" | "script";

export type FaultKind =
  | { kind: "status"; status: 400 | 403 | 404 | 429 | 500 | 502 | 503 | 504; retryAfter?: string } // retryAfter: header value, seconds or HTTP date
  | { kind: "reset" } // destroy the socket without answering
  | { kind: "slow"; delayMs: number } // answer correctly, after a delay
  | { kind: "malformed-json" } // 200 with a body that is not JSON
  | { kind: "bad-shape"; body: unknown } // 200 with valid JSON of the wrong shape
  | { kind: "truncate"; keep: number } // 200 listing page with only the first `keep` items, then empty pages after it
  | { kind: "first-page-only" }
  // the hard case of a non-idempotent write: the request IS applied, then the answer never comes
  | { kind: "apply-then-reset" } // apply, then destroy the socket without answering
  | { kind: "apply-then-timeout"; delayMs: number } // apply, then answer only after `delayMs` // a listing's first page answers normally, any later page (startingAfter/offsetTs) is empty
  // file faults (match: { pathPrefix: "/files/" }):
  | { kind: "reset-mid-body" } // full Content-Length, half the bytes, then the socket is destroyed
  | { kind: "stall-mid-body"; ms: number } // half the bytes, a pause of `ms`, then the rest
  | { kind: "wrong-length" } // 200 with 17 bytes more than the message declared
  | { kind: "html-page" }; // 200 text/html sign-in page instead of the file

export interface FaultRule {
  fault: FaultKind;
  /**
   * Which requests it applies to; default: every listing request (GET .../conversations). The
   * users listing and user GETs take every fault too: `{ pathRegex: /\/users$/ }`, `/\/users\/[^/]+$/`.
   */
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
  receivedAt: number; // Date.now() when its body had arrived
}

/**
 * One 429 the simulator answered. Every 429 with a Retry-After holds the whole app: until `until`
 * each request is answered 429 (`reason: "hold"`), the way a per-app limit refuses everything.
 */
export interface ThrottleLogEntry {
  at: number;
  /** The Retry-After sent, in ms (null: none sent). */
  retryAfterMs: number | null;
  /** End of the app-wide hold (= at when no hold). */
  until: number;
  /** limit: the rate limit's bucket ran dry; fault: an injected 429; hold: inside a hold; window: throttleAll. */
  reason: "limit" | "fault" | "hold" | "window";
}

export interface SimulatedMessageInput {
  senderId?: UserId | null; // null/undefined with type SystemMessage
  text?: string;
  type?: "UserMessage" | "SystemMessage";
  createdAt?: number; // default now()
  custom?: Record<string, string>;
  attachment?: { url: string; size: number } | null;
  /** Content blocks, e.g. `{ type: "file", url, filename, size }` (see addFile). */
  content?: unknown[];
  readBy?: UserId[]; // default []
  origin?: Message["origin"]; // default "rest"
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
  /** Every app served (see SimulatorOptions.apps). */
  readonly appIds: readonly string[];
  /** The state of one served app (for assertions and setup in multi-app tests); undefined if not served. */
  appStore(appId: string): AppStore | undefined;

  // --- the data, for assertions (deep copies in documented API shape) ---
  conversation(id: string): Conversation | undefined;
  allConversations(): Conversation[]; // every live conversation, in no particular order
  messages(conversationId: string): Message[]; // newest first, like the API
  deletedIds(): string[];
  /** One user as GET answers it (pushTokens included), or undefined. */
  user(id: UserId): User | undefined;
  /** Every user, in listing (id) order. */
  allUsers(): User[];

  /** Bytes of a file this simulator serves (tests compare downloads with them); undefined if not ours. */
  fileBytes(url: string): Buffer | undefined;

  // --- mutations, exactly as if made through TalkJS ---
  /** A file served under /files/ (deterministic bytes), to put in a message's attachment or content. */
  addFile(input: { size: number; filename?: string; contentType?: string; bytesSeed?: number }): {
    id: string;
    url: string;
    size: number;
    filename: string;
    contentType: string;
  };
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
  /** PUT semantics: creates the user (createdAt = now) or merges into it. */
  putUser(id: UserId, update: UserUpdate): User;
  /**
   * TalkJS's privacy example: name "[DELETED]", email/phone/photo/custom cleared, and every
   * message the user sent edited to "[DELETED]". Returns how many messages were edited.
   */
  anonymiseUser(id: UserId): number;
  /** Test rig only (TalkJS has no user-delete endpoint): GET answers 404, the listing skips it. */
  removeUser(id: UserId): boolean;

  // --- control ---
  setOptions(
    options: Partial<
      Pick<
        SimulatorOptions,
        | "offsetTsMode"
        | "deletedAnchor"
        | "limitMode"
        | "latencyMs"
        | "rateLimit"
        | "maxMessageLimit"
        | "fileUrlTtlMs"
        | "importShape"
        | "importMaxBatch"
      >
    >,
  ): void;
  addFault(rule: FaultRule): void;
  clearFaults(): void;
  /**
   * Test switch: a 429 window covering every request for `durationMs` (0 ends any hold, also one
   * a 429 started). With `retryAfter: false` the 429s carry no Retry-After header.
   */
  throttleAll(durationMs: number, options?: { retryAfter?: boolean }): void;
  /** Every 429 answered (cleared with the request log). */
  readonly throttleLog: ThrottleLogEntry[];
  /** Called before each request is answered, with the 1-based count of requests so far; may mutate data. */
  onRequest(
    hook:
      | ((
          requestNumber: number,
          entry: { method: string; path: string; query: Record<string, string> },
        ) => void)
      | null,
  ): void;
  /** The most recent requests (at most `requestLogLimit`), oldest first. */
  readonly requestLog: RequestLogEntry[];
  /** Clears the request log and the throttle log. */
  clearRequestLog(): void;
  /** The webhooks it sends (URL, faults, stats). */
  readonly webhooks: WebhookSender;

  close(): Promise<void>;
}
