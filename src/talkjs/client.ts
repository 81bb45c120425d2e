import { randomUUID } from "node:crypto";
import { resolveClientOptions, type TalkJSClientOptions } from "./config.ts";
import { type ClientStats, HttpTransport } from "./http.ts";
import type {
  Conversation,
  ConversationUpdate,
  ListConversationsParams,
  Message,
  MirroredUser,
  Participant,
  User,
  UserUpdate,
} from "./types.ts";
import {
  ConversationPageSchema,
  ConversationSchema,
  FileTokenSchema,
  MessagePageSchema,
  UserPageSchema,
  UserSchema,
} from "./validate.ts";

export interface TalkJSClient {
  readonly stats: ClientStats;
  readonly pageSize: number;
  getConversation(id: string, signal?: AbortSignal): Promise<Conversation | null>;
  listConversations(params?: ListConversationsParams, signal?: AbortSignal): Promise<Conversation[]>;
  listUserConversations(
    userId: string,
    params?: ListConversationsParams,
    signal?: AbortSignal,
  ): Promise<Conversation[]>;
  putConversation(id: string, update: ConversationUpdate, signal?: AbortSignal): Promise<void>;
  deleteConversation(id: string, signal?: AbortSignal): Promise<void>;
  listMessages(
    conversationId: string,
    params?: { limit?: number; startingAfter?: string },
    signal?: AbortSignal,
  ): Promise<Message[]>;
  /** One page of the users listing (ordered by id); push tokens already stripped. */
  listUsers(
    params?: { limit?: number; startingAfter?: string },
    signal?: AbortSignal,
  ): Promise<MirroredUser[]>;
  /** One user, or null when TalkJS answers 404; push tokens already stripped. */
  getUser(id: string, signal?: AbortSignal): Promise<MirroredUser | null>;
  /** PUT /users: up to 100 users at once, created or merged, all-or-nothing (restore). */
  putUsers(users: Record<string, UserUpdate>, signal?: AbortSignal): Promise<void>;
  /** PUT one participant's access and notify (adds the user when not a participant). */
  putParticipant(
    conversationId: string,
    userId: string,
    settings: { access?: Participant["access"]; notify?: boolean },
    signal?: AbortSignal,
  ): Promise<void>;
  /**
   * POST import/conversations/{id}/messages. NOT idempotent and therefore never retried on a
   * timeout, reset or 5xx: the error reaches the caller, who must read the target back.
   */
  importMessages(conversationId: string, items: readonly unknown[], signal?: AbortSignal): Promise<void>;
  /**
   * POST /files (multipart/form-data, a `file` part): uploads a file, answers its fileToken.
   * Retried like any request: a repeated upload only leaves an unused copy at TalkJS.
   */
  uploadFile(file: UploadFile, signal?: AbortSignal): Promise<string>;
  close(): Promise<void>;
}

/**
 * `pushTokens` are device credentials (API reference, "Users"): dropped here, right after
 * validation, so no hash, row, log line or export ever sees them.
 */
export function withoutPushTokens(user: User): MirroredUser {
  const { pushTokens: _dropped, ...rest } = user;
  return rest;
}

/** A file to upload: streamed from `open()` (called once per attempt), never held whole in memory. */
export interface UploadFile {
  filename: string;
  contentType: string;
  /** Its exact length in bytes (the request declares it up front). */
  size: number;
  open: () => AsyncIterable<Uint8Array>;
}

/** A multipart/form-data body with one `file` part (what TalkJS's upload endpoint takes), streamed. */
function multipartFile(file: UploadFile) {
  const boundary = `talkjs-mirror-${randomUUID()}`;
  // Quotes and line breaks cannot appear inside the quoted filename of a part's header.
  const name = file.filename.replace(/["\r\n\\]/g, "_");
  const head = Buffer.from(
    `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="${name}"\r\n` +
      `Content-Type: ${file.contentType}\r\n\r\n`,
    "utf8",
  );
  const tail = Buffer.from(`\r\n--${boundary}--\r\n`, "utf8");
  return {
    contentType: `multipart/form-data; boundary=${boundary}`,
    length: head.length + file.size + tail.length,
    open: async function* (): AsyncGenerator<Uint8Array> {
      yield head;
      yield* file.open();
      yield tail;
    },
  };
}

function listQuery(p: ListConversationsParams): Record<string, string | number | undefined> {
  return {
    limit: p.limit,
    orderBy: p.orderBy,
    orderDirection: p.orderDirection,
    startingAfter: p.startingAfter,
    offsetTs: p.offsetTs,
    lastMessageBefore: p.lastMessageBefore,
    lastMessageAfter: p.lastMessageAfter,
    // URLSearchParams encodes it: the wire form is URL-encoded JSON.
    filter: p.filter === undefined ? undefined : JSON.stringify(p.filter),
  };
}

export function createTalkJSClient(options: TalkJSClientOptions): TalkJSClient {
  const o = resolveClientOptions(options);
  const http = new HttpTransport(o);
  const app = `/v1/${encodeURIComponent(o.appId)}`;
  const conv = (id: string): string => `${app}/conversations/${encodeURIComponent(id)}`;
  // Validate, then return the original parsed object: unknown fields are kept.
  const page = (json: unknown): Conversation[] => (json as { data: Conversation[] }).data;

  return {
    stats: http.stats,
    pageSize: o.pageSize,
    async getConversation(id, signal) {
      const r = await http.request({
        method: "GET",
        path: conv(id),
        schema: ConversationSchema,
        allowStatus: [404],
        signal,
      });
      return r.status === 404 ? null : (r.json as Conversation);
    },
    async listConversations(params = {}, signal) {
      const r = await http.request({
        method: "GET",
        path: `${app}/conversations`,
        query: listQuery({ limit: o.pageSize, ...params }),
        schema: ConversationPageSchema,
        signal,
      });
      return page(r.json);
    },
    async listUserConversations(userId, params = {}, signal) {
      const r = await http.request({
        method: "GET",
        path: `${app}/users/${encodeURIComponent(userId)}/conversations`,
        query: listQuery({ limit: o.pageSize, ...params }),
        schema: ConversationPageSchema,
        signal,
      });
      return page(r.json);
    },
    async putConversation(id, update, signal) {
      await http.request({ method: "PUT", path: conv(id), body: update, signal });
    },
    async deleteConversation(id, signal) {
      await http.request({ method: "DELETE", path: conv(id), signal });
    },
    async listMessages(conversationId, params = {}, signal) {
      const r = await http.request({
        method: "GET",
        path: `${conv(conversationId)}/messages`,
        query: { limit: params.limit, startingAfter: params.startingAfter },
        schema: MessagePageSchema,
        signal,
      });
      return (r.json as { data: Message[] }).data;
    },
    async listUsers(params = {}, signal) {
      const r = await http.request({
        method: "GET",
        path: `${app}/users`,
        query: { limit: params.limit, startingAfter: params.startingAfter },
        schema: UserPageSchema,
        signal,
      });
      return (r.json as { data: User[] }).data.map(withoutPushTokens);
    },
    async getUser(id, signal) {
      const r = await http.request({
        method: "GET",
        path: `${app}/users/${encodeURIComponent(id)}`,
        schema: UserSchema,
        allowStatus: [404],
        signal,
      });
      return r.status === 404 ? null : withoutPushTokens(r.json as User);
    },
    async putUsers(users, signal) {
      await http.request({ method: "PUT", path: `${app}/users`, body: users, signal });
    },
    async putParticipant(conversationId, userId, settings, signal) {
      await http.request({
        method: "PUT",
        path: `${conv(conversationId)}/participants/${encodeURIComponent(userId)}`,
        body: settings,
        signal,
      });
    },
    async importMessages(conversationId, items, signal) {
      await http.request({
        method: "POST",
        path: `${app}/import/conversations/${encodeURIComponent(conversationId)}/messages`,
        body: items,
        retry: false,
        signal,
      });
    },
    async uploadFile(file, signal) {
      const r = await http.request({
        method: "POST",
        path: `${app}/files`,
        rawBody: multipartFile(file),
        schema: FileTokenSchema,
        signal,
      });
      const { fileToken, attachmentToken } = r.json as { fileToken?: string; attachmentToken?: string };
      return (fileToken ?? attachmentToken) as string;
    },
    close: () => http.close(),
  };
}
