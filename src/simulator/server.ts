// The simulator: one HTTP server in front of a simulated app, with the switches, the rate limit,
// fault injection and the request log. A request goes: body -> onRequest hook -> latency ->
// rate limit -> fault -> route (./router.ts, ./routes/) -> the fault's rewrite of the answer.
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { UserId } from "../talkjs/types.ts";
import { AppStore } from "./app-store.ts";
import { applyFault, FaultEngine } from "./faults.ts";
import { FileCatalog } from "./files.ts";
import { errorReply, parseTarget, type Reply, readRawBody, send, sleep } from "./http.ts";
import { BadRequest } from "./query.ts";
import { TokenBucket } from "./ratelimit.ts";
import { routeRequest, type SimulatedApp } from "./router.ts";
import { serveFile } from "./routes/files.ts";
import { ROUTES } from "./routes/index.ts";
import type {
  RequestLogEntry,
  SimulatedMessageInput,
  Simulator,
  SimulatorOptions,
  ThrottleLogEntry,
} from "./types.ts";
import { WebhookSender } from "./webhooks.ts";

type Hook = Parameters<Simulator["onRequest"]>[0];

class SimulatorImpl implements Simulator {
  url = "";
  readonly requestLog: RequestLogEntry[] = [];
  readonly throttleLog: ThrottleLogEntry[] = [];
  /** The app-wide 429 hold: every request is refused until `until`. */
  private hold: { until: number; retryAfter: boolean; reason: "hold" | "window" } = {
    until: 0,
    retryAfter: true,
    reason: "hold",
  };
  private readonly app: SimulatedApp;
  /** Every app served, by id (the first is `app`). */
  private readonly apps = new Map<string, SimulatedApp>();
  private latencyMs: number;
  private readonly rateLimit: TokenBucket;
  private readonly faults: FaultEngine;
  private hook: Hook = null;
  private readonly now: () => number;
  private requestCount = 0;
  private readonly requestLogLimit: number;
  readonly webhooks: WebhookSender;
  readonly server = createServer({ keepAlive: true }, (req, res) => {
    this.handle(req, res).catch((e: unknown) => {
      // only reachable if writing the answer itself failed; nothing sensible left to send
      if (!res.headersSent) send(res, errorReply(500, String(e)));
    });
  });

  constructor(options: SimulatorOptions) {
    const seed = options.seed ?? 42;
    const now = options.now ?? Date.now;
    this.now = now;
    const files = new FileCatalog(seed, now);
    files.ttlMs = options.fileUrlTtlMs ?? null;
    this.requestLogLimit = Math.max(1, options.requestLogLimit ?? 100_000);
    const appIds = options.apps && options.apps.length > 0 ? options.apps : [options.appId ?? "demo"];
    const importShape = options.importShape ?? "documented";
    const importing = {
      shape: importShape,
      maxBatch: options.importMaxBatch ?? (importShape === "script" ? 100 : 10),
    };
    const listing = {
      offsetTsMode: options.offsetTsMode ?? "exclusive",
      deletedAnchor: options.deletedAnchor ?? "continue",
      limitMode: options.limitMode ?? "reject",
      maxConversationLimit: options.maxConversationLimit ?? 30,
      maxMessageLimit: options.maxMessageLimit ?? 100,
    } as const;
    this.app = {
      appId: appIds[0] as string,
      secretKey: options.secretKey ?? `sk_test_${appIds[0]}`,
      store: new AppStore(seed, options.conversations ?? 0, now),
      files,
      listing: { ...listing },
      importing,
    };
    this.apps.set(this.app.appId, this.app);
    // Further apps (a restore's target): empty, their own key, the same switches.
    for (const [i, appId] of appIds.slice(1).entries()) {
      const extraFiles = new FileCatalog(seed + i + 1, now);
      extraFiles.ttlMs = files.ttlMs;
      this.apps.set(appId, {
        appId,
        secretKey: `sk_test_${appId}`,
        store: new AppStore(seed + i + 1, 0, now, true),
        files: extraFiles,
        listing: this.app.listing,
        importing,
      });
    }
    this.latencyMs = options.latencyMs ?? 0;
    this.rateLimit = new TokenBucket(options.rateLimit ?? null);
    this.faults = new FaultEngine(seed);
    this.webhooks = new WebhookSender(() => this.app.secretKey, seed, now);
    if (options.webhookUrl) this.webhooks.configure({ url: options.webhookUrl });
    this.app.store.onEvent = (type, data) => this.webhooks.emit(type, data);
  }

  get appId(): string {
    return this.app.appId;
  }
  get secretKey(): string {
    return this.app.secretKey;
  }
  get store(): AppStore {
    return this.app.store;
  }

  get appIds(): readonly string[] {
    return [...this.apps.keys()];
  }
  appStore(appId: string): AppStore | undefined {
    return this.apps.get(appId)?.store;
  }

  /** The app whose catalog holds the file a /files/ path names (uploads have ids unique across apps). */
  private catalogOf(path: string): FileCatalog {
    const id = path.split("/")[2] ?? "";
    for (const app of this.apps.values()) if (app.files.find(id)) return app.files;
    return this.app.files;
  }

  /** The app a request's /v1/{appId}/ names. */
  private readonly findApp = (appId: string): SimulatedApp | undefined => this.apps.get(appId);

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
  fileBytes(url: string) {
    return this.app.files.bytesOf(url);
  }
  addFile(input: Parameters<Simulator["addFile"]>[0]) {
    return this.app.files.add(input);
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
  user(id: UserId) {
    return this.store.directory.get(id);
  }
  allUsers() {
    return this.store.directory.all();
  }
  putUser(id: UserId, update: Parameters<Simulator["putUser"]>[1]) {
    return this.store.directory.put(id, update);
  }
  anonymiseUser(id: UserId) {
    return this.store.anonymiseUser(id);
  }
  removeUser(id: UserId) {
    return this.store.directory.remove(id);
  }

  // --- Simulator: control ---
  setOptions(options: Parameters<Simulator["setOptions"]>[0]) {
    if (options.offsetTsMode !== undefined) this.app.listing.offsetTsMode = options.offsetTsMode;
    if (options.deletedAnchor !== undefined) this.app.listing.deletedAnchor = options.deletedAnchor;
    if (options.limitMode !== undefined) this.app.listing.limitMode = options.limitMode;
    if (options.latencyMs !== undefined) this.latencyMs = options.latencyMs;
    if (options.fileUrlTtlMs !== undefined) this.app.files.ttlMs = options.fileUrlTtlMs;
    if (options.maxMessageLimit !== undefined) this.app.listing.maxMessageLimit = options.maxMessageLimit;
    if (options.importShape !== undefined) this.app.importing.shape = options.importShape;
    if (options.importMaxBatch !== undefined) this.app.importing.maxBatch = options.importMaxBatch;
    if (options.rateLimit !== undefined) {
      this.rateLimit.configure(options.rateLimit);
      this.hold = { until: 0, retryAfter: true, reason: "hold" };
    }
  }
  throttleAll(durationMs: number, options: { retryAfter?: boolean } = {}) {
    this.hold = { until: Date.now() + durationMs, retryAfter: options.retryAfter ?? true, reason: "window" };
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
    this.throttleLog.length = 0;
  }

  /**
   * A 429 answer, logged; one that carries a Retry-After holds the whole app until it passes
   * (a per-app limit refuses everything, not just the request that crossed it).
   */
  private throttled(reason: ThrottleLogEntry["reason"], retryAfter: string | null): Reply {
    const at = Date.now();
    const ms = retryAfter === null ? null : retryAfterMs(retryAfter, at);
    const until = ms === null ? at : at + ms;
    if (until > this.hold.until) this.hold = { until, retryAfter: true, reason: "hold" };
    this.throttleLog.push({ at, retryAfterMs: ms, until, reason });
    return errorReply(
      429,
      "rate limit exceeded",
      retryAfter === null ? undefined : { "retry-after": retryAfter },
    );
  }

  async listen(port: number, host: string): Promise<void> {
    this.rateLimit.refill();
    await new Promise<void>((resolve, reject) => {
      this.server.once("error", reject);
      this.server.listen(port, host, () => {
        this.server.off("error", reject);
        resolve();
      });
    });
    const addr = this.server.address() as AddressInfo;
    this.url = `http://${host.includes(":") ? `[${host}]` : host}:${addr.port}`;
    for (const app of this.apps.values()) {
      app.files.baseUrl = this.url;
      app.store.fileBaseUrl = this.url;
    }
  }

  close(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.server.close((e) => (e ? reject(e) : resolve()));
      this.server.closeAllConnections();
    });
  }

  // --- HTTP ---

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const method = (req.method ?? "GET").toUpperCase();
    const { path, query } = parseTarget(req.url ?? "/");
    let receivedAt = Date.now();
    const log = (status: number) => {
      // Dropping the oldest half at once keeps the cost amortised O(1) per request.
      if (this.requestLog.length >= this.requestLogLimit)
        this.requestLog.splice(0, Math.ceil(this.requestLogLimit / 2));
      this.requestLog.push({ method, path, query, status, at: Date.now(), receivedAt });
    };

    let body: string;
    let rawBody: Buffer;
    try {
      rawBody = await readRawBody(req);
      body = rawBody.toString("utf8");
    } catch {
      log(413);
      send(res, errorReply(413, "request body too large"));
      return;
    }
    receivedAt = Date.now();
    const n = ++this.requestCount;
    let answer: { reply: Reply; rawText?: string };
    try {
      this.hook?.(n, { method, path, query });
      if (this.latencyMs > 0) await sleep(this.latencyMs);
      if (path.startsWith("/files/")) {
        // The CDN: not behind the REST rate limit; its faults are its own (routes/files.ts).
        const fault = this.faults.decide(method, path);
        if (fault?.kind === "slow") await sleep(fault.delayMs);
        if (fault?.kind === "reset") {
          log(0);
          req.socket.destroy();
        } else if (fault?.kind === "status") {
          log(fault.status);
          send(res, errorReply(fault.status, "injected fault"));
        } else {
          log(await serveFile(req, res, { path, query }, this.catalogOf(path), fault, this.now()));
        }
        return;
      }
      const held = this.hold.until - Date.now();
      const retryAfter = held > 0 ? null : this.rateLimit.take();
      const fault = held > 0 || retryAfter !== null ? null : this.faults.decide(method, path);
      if (held > 0) {
        answer = {
          reply: this.throttled(this.hold.reason, this.hold.retryAfter ? String(held / 1000) : null),
        };
      } else if (retryAfter !== null) {
        answer = { reply: this.throttled("limit", String(retryAfter)) };
      } else if (fault?.kind === "status" && fault.status === 429) {
        answer = { reply: this.throttled("fault", fault.retryAfter ?? null) };
      } else if (fault?.kind === "reset") {
        log(0);
        req.socket.destroy();
        return;
      } else if (fault?.kind === "status") {
        const headers = fault.retryAfter !== undefined ? { "retry-after": fault.retryAfter } : undefined;
        answer = { reply: errorReply(fault.status, "injected fault", headers) };
      } else if (fault?.kind === "apply-then-reset" || fault?.kind === "apply-then-timeout") {
        // The write happens; the client never learns it did (the non-idempotent hard case).
        const reply = routeRequest(
          { method, path, query, body, rawBody, headers: req.headers },
          this.findApp,
          ROUTES,
        );
        if (fault.kind === "apply-then-reset") {
          log(0);
          req.socket.destroy();
          return;
        }
        await sleep(fault.delayMs);
        answer = { reply };
      } else {
        if (fault?.kind === "slow") await sleep(fault.delayMs);
        const reply = routeRequest(
          { method, path, query, body, rawBody, headers: req.headers },
          this.findApp,
          ROUTES,
        );
        answer = applyFault(reply, fault, query);
      }
    } catch (e) {
      const reply =
        e instanceof BadRequest
          ? errorReply(400, e.message)
          : errorReply(500, e instanceof Error ? e.message : String(e));
      answer = { reply };
    }
    log(answer.reply.status);
    send(res, answer.reply, answer.rawText);
  }
}

/** Retry-After (delta-seconds, fractions allowed, or an HTTP date) in ms from `now`; 0 if unreadable. */
function retryAfterMs(value: string, now: number): number {
  if (/^\d+(\.\d+)?$/.test(value.trim())) return Math.round(Number(value) * 1000);
  const date = Date.parse(value);
  return Number.isNaN(date) ? 0 : Math.max(0, date - now);
}

/** Starts a simulator on loopback (port 0 = a free port). */
export async function startSimulator(options: SimulatorOptions = {}): Promise<Simulator> {
  const sim = new SimulatorImpl(options);
  await sim.listen(options.port ?? 0, options.host ?? "127.0.0.1");
  return sim;
}
