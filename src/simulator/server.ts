// The HTTP face of the simulator: routing, auth, switches, rate limit and faults on top of
// AppStore. Every answer is JSON (`{}` when there is nothing to say), like TalkJS.
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { UserId } from "../talkjs/types.ts";
import { AppStore, type ListQuery } from "./app-store.ts";
import { checkAuthorization } from "./auth.ts";
import { FaultEngine } from "./faults.ts";
import type { ConversationPatch, CustomPatch } from "./meta.ts";
import {
  BadRequest,
  ORDERING_VERSION,
  parseFilter,
  parseLimit,
  parseOrderBy,
  parseOrderDirection,
  parseRestVersion,
  parseTimestamp,
  USER_404_VERSION,
} from "./query.ts";
import type { RequestLogEntry, SimulatedMessageInput, Simulator, SimulatorOptions } from "./types.ts";

type Query = Record<string, string>;
type Hook = Parameters<Simulator["onRequest"]>[0];

interface Reply {
  status: number;
  body: unknown;
  headers?: Record<string, string>;
}

const ERROR_CODES: Record<number, string> = {
  400: "INVALID_REQUEST",
  401: "UNAUTHORIZED",
  404: "NOT_FOUND",
  405: "METHOD_NOT_ALLOWED",
  413: "PAYLOAD_TOO_LARGE",
  429: "TOO_MANY_REQUESTS",
  500: "INTERNAL_SERVER_ERROR",
  502: "BAD_GATEWAY",
  503: "SERVICE_UNAVAILABLE",
  504: "GATEWAY_TIMEOUT",
};

const error = (status: number, reason: string, headers?: Record<string, string>): Reply => ({
  status,
  body: { errorCode: ERROR_CODES[status] ?? "ERROR", reason },
  ...(headers ? { headers } : {}),
});

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

const MAX_BODY = 10 * 1024 * 1024;

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY) reject(new Error("body too large"));
      else chunks.push(c);
    });
    req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    req.on("error", reject);
  });
}

/** Splits the raw path on "/" first, then decodes each segment, so an encoded "/" stays inside an id. */
export function splitPath(rawPath: string): string[] {
  return rawPath.split("/").map((s) => {
    try {
      return decodeURIComponent(s);
    } catch {
      throw new BadRequest(`malformed percent-encoding in path segment "${s}"`);
    }
  });
}

const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v);
const isStringOrNull = (v: unknown): v is string | null => v === null || typeof v === "string";

function parseJsonBody(text: string): unknown {
  if (text.trim() === "") return undefined;
  try {
    return JSON.parse(text);
  } catch {
    throw new BadRequest("request body is not valid JSON");
  }
}

/** Validates a PUT body (the documented RequestBody); unknown fields are a 400. */
export function parseConversationPatch(body: unknown): ConversationPatch {
  if (body === undefined) return {};
  if (!isRecord(body)) throw new BadRequest("body must be a JSON object");
  const patch: ConversationPatch = {};
  for (const [key, v] of Object.entries(body)) {
    switch (key) {
      case "participants":
        if (!Array.isArray(v) || !v.every((u) => typeof u === "string" && u !== ""))
          throw new BadRequest("participants must be an array of user ids");
        patch.participants = v as string[];
        break;
      case "subject":
      case "photoUrl":
        if (!isStringOrNull(v)) throw new BadRequest(`${key} must be a string or null`);
        patch[key] = v;
        break;
      case "welcomeMessages":
        if (v !== null && !(Array.isArray(v) && v.every((s) => typeof s === "string")))
          throw new BadRequest("welcomeMessages must be an array of strings or null");
        patch.welcomeMessages = v as string[] | null;
        break;
      case "custom":
        if (v !== null && !(isRecord(v) && Object.values(v).every(isStringOrNull)))
          throw new BadRequest("custom must be an object of string (or null) values, or null");
        patch.custom = v as CustomPatch | null;
        break;
      default:
        throw new BadRequest(`unknown field "${key}"`);
    }
  }
  return patch;
}

/** Validates a POST .../messages body: an array of {text, sender?, type, custom?}, like TalkJS. */
export function parseMessagesBody(body: unknown): SimulatedMessageInput[] {
  if (!Array.isArray(body) || body.length === 0)
    throw new BadRequest("body must be a non-empty array of messages");
  return body.map((m, i) => {
    if (!isRecord(m)) throw new BadRequest(`message ${i} must be an object`);
    const { text, sender, type, custom } = m;
    if (typeof text !== "string") throw new BadRequest(`message ${i}: text must be a string`);
    if (type !== "UserMessage" && type !== "SystemMessage")
      throw new BadRequest(`message ${i}: type must be UserMessage or SystemMessage`);
    if (type === "UserMessage" && (typeof sender !== "string" || sender === ""))
      throw new BadRequest(`message ${i}: a UserMessage needs a sender`);
    if (
      custom !== undefined &&
      !(isRecord(custom) && Object.values(custom).every((x) => typeof x === "string"))
    )
      throw new BadRequest(`message ${i}: custom must be an object of strings`);
    return {
      text,
      type,
      senderId: type === "UserMessage" ? (sender as string) : null,
      ...(custom !== undefined ? { custom: custom as Record<string, string> } : {}),
    };
  });
}

interface Settings {
  offsetTsMode: NonNullable<SimulatorOptions["offsetTsMode"]>;
  limitMode: NonNullable<SimulatorOptions["limitMode"]>;
  latencyMs: number;
  rateLimit: SimulatorOptions["rateLimit"];
}

class SimulatorImpl implements Simulator {
  url = "";
  readonly appId: string;
  readonly secretKey: string;
  readonly requestLog: RequestLogEntry[] = [];
  readonly store: AppStore;
  private readonly settings: Settings;
  private readonly faults: FaultEngine;
  private hook: Hook = null;
  private requestCount = 0;
  private readonly maxConversationLimit: number;
  private readonly maxMessageLimit: number;
  private readonly now: () => number;
  private bucket = { tokens: 0, at: 0 };
  readonly server = createServer({ keepAlive: true }, (req, res) => {
    this.handle(req, res).catch((e: unknown) => {
      // only reachable if writing the answer itself failed; nothing sensible left to send
      if (!res.headersSent) this.send(res, error(500, String(e)));
    });
  });

  constructor(options: SimulatorOptions) {
    this.appId = options.appId ?? "demo";
    this.secretKey = options.secretKey ?? "sk_test_demo";
    this.now = options.now ?? Date.now;
    this.maxConversationLimit = options.maxConversationLimit ?? 30;
    this.maxMessageLimit = options.maxMessageLimit ?? 100;
    this.settings = {
      offsetTsMode: options.offsetTsMode ?? "exclusive",
      limitMode: options.limitMode ?? "reject",
      latencyMs: options.latencyMs ?? 0,
      rateLimit: options.rateLimit ?? null,
    };
    const seed = options.seed ?? 42;
    this.faults = new FaultEngine(seed);
    this.store = new AppStore(seed, options.conversations ?? 0, this.now);
  }

  // --- Simulator: data ---
  conversation(id: string) {
    return this.store.conversation(id);
  }
  allConversations() {
    return this.store.allConversations();
  }
  messages(conversationId: string) {
    return this.store.messages(conversationId) ?? [];
  }
  deletedIds() {
    return this.store.deletedIds();
  }
  createConversation(input: Parameters<Simulator["createConversation"]>[0]) {
    return this.store.createConversation(input);
  }
  addMessage(conversationId: string, message?: SimulatedMessageInput) {
    return this.store.addMessage(conversationId, message);
  }
  editMessage(conversationId: string, messageId: string, update: Parameters<Simulator["editMessage"]>[2]) {
    return this.store.editMessage(conversationId, messageId, update);
  }
  deleteMessage(conversationId: string, messageId: string) {
    return this.store.deleteMessage(conversationId, messageId);
  }
  updateConversation(conversationId: string, update: Parameters<Simulator["updateConversation"]>[1]) {
    return this.store.updateConversation(conversationId, update);
  }
  removeParticipant(conversationId: string, userId: UserId) {
    this.store.removeParticipant(conversationId, userId);
  }
  deleteConversation(conversationId: string) {
    return this.store.deleteConversation(conversationId);
  }

  // --- Simulator: control ---
  setOptions(options: Parameters<Simulator["setOptions"]>[0]) {
    if (options.offsetTsMode !== undefined) this.settings.offsetTsMode = options.offsetTsMode;
    if (options.limitMode !== undefined) this.settings.limitMode = options.limitMode;
    if (options.latencyMs !== undefined) this.settings.latencyMs = options.latencyMs;
    if (options.rateLimit !== undefined) {
      this.settings.rateLimit = options.rateLimit;
      this.bucket = { tokens: options.rateLimit?.burst ?? 0, at: Date.now() };
    }
  }
  addFault(rule: Parameters<Simulator["addFault"]>[0]) {
    this.faults.add(rule);
  }
  clearFaults() {
    this.faults.clear();
  }
  onRequest(hook: Hook) {
    this.hook = hook;
  }
  clearRequestLog() {
    this.requestLog.length = 0;
  }

  async listen(port: number, host: string): Promise<void> {
    if (this.settings.rateLimit) this.bucket = { tokens: this.settings.rateLimit.burst, at: Date.now() };
    await new Promise<void>((resolve, reject) => {
      this.server.once("error", reject);
      this.server.listen(port, host, () => {
        this.server.off("error", reject);
        resolve();
      });
    });
    const addr = this.server.address() as AddressInfo;
    this.url = `http://${host.includes(":") ? `[${host}]` : host}:${addr.port}`;
  }

  close(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.server.close((e) => (e ? reject(e) : resolve()));
      this.server.closeAllConnections();
    });
  }

  // --- HTTP ---

  /** Token bucket on the real clock; returns the Retry-After seconds when over the limit. */
  private takeToken(): number | null {
    const rl = this.settings.rateLimit;
    if (!rl) return null;
    const t = Date.now();
    this.bucket.tokens = Math.min(
      rl.burst,
      this.bucket.tokens + ((t - this.bucket.at) / 1000) * rl.perSecond,
    );
    this.bucket.at = t;
    if (this.bucket.tokens >= 1) {
      this.bucket.tokens -= 1;
      return null;
    }
    return rl.retryAfterSeconds ?? Math.max(1, Math.ceil((1 - this.bucket.tokens) / rl.perSecond));
  }

  private send(res: ServerResponse, reply: Reply, rawText?: string): void {
    const text = rawText ?? JSON.stringify(reply.body ?? {});
    res.writeHead(reply.status, {
      "content-type": "application/json; charset=utf-8",
      "content-length": Buffer.byteLength(text),
      ...reply.headers,
    });
    res.end(text);
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const method = (req.method ?? "GET").toUpperCase();
    const rawUrl = req.url ?? "/";
    const q = rawUrl.indexOf("?");
    const path = q < 0 ? rawUrl : rawUrl.slice(0, q);
    const query: Query = Object.fromEntries(new URLSearchParams(q < 0 ? "" : rawUrl.slice(q + 1)));
    const log = (status: number) => this.requestLog.push({ method, path, query, status, at: Date.now() });

    let bodyText: string;
    try {
      bodyText = await readBody(req);
    } catch {
      log(413);
      this.send(res, error(413, "request body too large"));
      return;
    }
    const n = ++this.requestCount;
    let reply: Reply;
    let rawText: string | undefined;
    try {
      this.hook?.(n, { method, path, query });
      if (this.settings.latencyMs > 0) await sleep(this.settings.latencyMs);
      const retryAfter = this.takeToken();
      const fault = retryAfter === null ? this.faults.decide(method, path) : null;
      if (retryAfter !== null) {
        reply = error(429, "rate limit exceeded", { "retry-after": String(retryAfter) });
      } else if (fault?.kind === "reset") {
        log(0);
        req.socket.destroy();
        return;
      } else if (fault?.kind === "status") {
        reply = error(
          fault.status,
          "injected fault",
          fault.retryAfter !== undefined ? { "retry-after": fault.retryAfter } : undefined,
        );
      } else {
        if (fault?.kind === "slow") await sleep(fault.delayMs);
        reply = this.route(method, path, query, bodyText, req.headers);
        if (reply.status === 200 && fault) {
          if (fault.kind === "truncate" && isRecord(reply.body) && Array.isArray(reply.body.data)) {
            reply = { status: 200, body: { data: reply.body.data.slice(0, fault.keep) } };
          } else if (fault.kind === "malformed-json") {
            const full = JSON.stringify(reply.body ?? {});
            rawText = full.slice(0, Math.max(1, Math.floor(full.length / 2))); // cut mid-document: never valid JSON
          } else if (fault.kind === "bad-shape") {
            rawText = JSON.stringify(fault.body);
          }
        }
      }
    } catch (e) {
      reply =
        e instanceof BadRequest
          ? error(400, e.message)
          : error(500, e instanceof Error ? e.message : String(e));
    }
    log(reply.status);
    this.send(res, reply, rawText);
  }

  private route(
    method: string,
    rawPath: string,
    query: Query,
    body: string,
    headers: IncomingMessage["headers"],
  ): Reply {
    const segs = splitPath(rawPath);
    if (segs[0] !== "" || segs[1] !== "v1" || segs.length < 4) return error(404, "no such endpoint");
    if (segs[2] !== this.appId) return error(404, `no app "${segs[2]}"`);
    const auth = headers.authorization;
    const denied = checkAuthorization(auth, this.appId, this.secretKey, Date.now());
    if (denied !== null) return error(401, denied);
    const versionHeader = headers["talkjs-rest-version"];
    const version = parseRestVersion(Array.isArray(versionHeader) ? versionHeader[0] : versionHeader);
    const rest = segs.slice(3);
    const [a, id, c, d] = rest;
    const only = (m: string): Reply | null =>
      method === m ? null : error(405, `${method} not supported here`);

    if (a === "conversations" && rest.length === 1)
      return only("GET") ?? this.listConversations(query, version, undefined);
    if (a === "users" && c === "conversations" && rest.length === 3 && id)
      return only("GET") ?? this.listConversations(query, version, id);
    if (a !== "conversations" || !id) return error(404, "no such endpoint");
    if (rest.length === 2) {
      if (method === "GET") {
        const conv = this.store.conversation(id);
        return conv ? { status: 200, body: conv } : error(404, `no conversation "${id}"`);
      }
      if (method === "PUT") {
        this.store.upsertConversation(id, parseConversationPatch(parseJsonBody(body)));
        return { status: 200, body: {} };
      }
      if (method === "DELETE") {
        return this.store.deleteConversation(id)
          ? { status: 200, body: {} }
          : error(404, `no conversation "${id}"`);
      }
      return error(405, `${method} not supported here`);
    }
    if (c === "messages" && rest.length === 3) {
      if (!this.store.has(id)) return error(404, `no conversation "${id}"`);
      if (method === "GET") {
        const limit = parseLimit(query.limit, this.maxMessageLimit, this.settings.limitMode);
        return { status: 200, body: { data: this.store.listMessages(id, limit, query.startingAfter) ?? [] } };
      }
      if (method === "POST") {
        for (const m of parseMessagesBody(parseJsonBody(body))) this.store.addMessage(id, m);
        return { status: 200, body: {} };
      }
      return error(405, `${method} not supported here`);
    }
    if (c === "readBy" && d && rest.length === 4) {
      const wrong = only("POST");
      if (wrong) return wrong;
      if (body.length > 0) throw new BadRequest("mark-as-read takes an empty payload");
      return this.store.markRead(id, d) ? { status: 200, body: {} } : error(404, `no conversation "${id}"`);
    }
    return error(404, "no such endpoint");
  }

  private listConversations(query: Query, version: string, userId: UserId | undefined): Reply {
    const limit = parseLimit(query.limit, this.maxConversationLimit, this.settings.limitMode);
    // Before 2021-02-09 the order is createdAt DESC and cannot be changed; offsetTs did not exist.
    const legacy = version < ORDERING_VERSION;
    const filter = parseFilter(query.filter);
    if (userId === undefined && filter && (filter.access || filter.hasUnreadMessages !== undefined))
      throw new BadRequest("filter.access and filter.hasUnreadMessages only apply to a user's conversations");
    const q: ListQuery = {
      orderBy: legacy ? "createdAt" : parseOrderBy(query.orderBy),
      direction: legacy ? "DESC" : parseOrderDirection(query.orderDirection),
      limit,
      startingAfter: query.startingAfter,
      offsetTs: legacy ? undefined : parseTimestamp("offsetTs", query.offsetTs),
      offsetTsMode: this.settings.offsetTsMode,
      lastMessageBefore: parseTimestamp("lastMessageBefore", query.lastMessageBefore),
      lastMessageAfter: parseTimestamp("lastMessageAfter", query.lastMessageAfter),
      filter,
      userId,
    };
    const data = this.store.list(q);
    if (
      userId !== undefined &&
      data.length === 0 &&
      !this.store.userExists(userId) &&
      version >= USER_404_VERSION
    ) {
      return error(404, `no user "${userId}"`);
    }
    return { status: 200, body: { data } };
  }
}

/** Starts a simulator on loopback (port 0 = a free port). */
export async function startSimulator(options: SimulatorOptions = {}): Promise<Simulator> {
  const sim = new SimulatorImpl(options);
  await sim.listen(options.port ?? 0, options.host ?? "127.0.0.1");
  return sim;
}
