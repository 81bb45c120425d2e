// The simulator: one HTTP server in front of a simulated app, with the switches, the rate limit,
// fault injection and the request log. A request goes: body -> onRequest hook -> latency ->
// rate limit -> fault -> route (./router.ts, ./routes/) -> the fault's rewrite of the answer.
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { UserId } from "../talkjs/types.ts";
import { AppStore } from "./app-store.ts";
import { applyFault, FaultEngine } from "./faults.ts";
import { errorReply, parseTarget, type Reply, readBody, send, sleep } from "./http.ts";
import { BadRequest } from "./query.ts";
import { TokenBucket } from "./ratelimit.ts";
import { routeRequest, type SimulatedApp } from "./router.ts";
import { ROUTES } from "./routes/index.ts";
import type { RequestLogEntry, SimulatedMessageInput, Simulator, SimulatorOptions } from "./types.ts";

type Hook = Parameters<Simulator["onRequest"]>[0];

class SimulatorImpl implements Simulator {
  url = "";
  readonly requestLog: RequestLogEntry[] = [];
  private readonly app: SimulatedApp;
  private latencyMs: number;
  private readonly rateLimit: TokenBucket;
  private readonly faults: FaultEngine;
  private hook: Hook = null;
  private requestCount = 0;
  readonly server = createServer({ keepAlive: true }, (req, res) => {
    this.handle(req, res).catch((e: unknown) => {
      // only reachable if writing the answer itself failed; nothing sensible left to send
      if (!res.headersSent) send(res, errorReply(500, String(e)));
    });
  });

  constructor(options: SimulatorOptions) {
    const seed = options.seed ?? 42;
    this.app = {
      appId: options.appId ?? "demo",
      secretKey: options.secretKey ?? "sk_test_demo",
      store: new AppStore(seed, options.conversations ?? 0, options.now ?? Date.now),
      listing: {
        offsetTsMode: options.offsetTsMode ?? "exclusive",
        limitMode: options.limitMode ?? "reject",
        maxConversationLimit: options.maxConversationLimit ?? 30,
        maxMessageLimit: options.maxMessageLimit ?? 100,
      },
    };
    this.latencyMs = options.latencyMs ?? 0;
    this.rateLimit = new TokenBucket(options.rateLimit ?? null);
    this.faults = new FaultEngine(seed);
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

  /** The app a request's /v1/{appId}/ names (one app per simulator, for now). */
  private readonly findApp = (appId: string): SimulatedApp | undefined =>
    appId === this.app.appId ? this.app : undefined;

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
    if (options.offsetTsMode !== undefined) this.app.listing.offsetTsMode = options.offsetTsMode;
    if (options.limitMode !== undefined) this.app.listing.limitMode = options.limitMode;
    if (options.latencyMs !== undefined) this.latencyMs = options.latencyMs;
    if (options.rateLimit !== undefined) this.rateLimit.configure(options.rateLimit);
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
    const log = (status: number) => this.requestLog.push({ method, path, query, status, at: Date.now() });

    let body: string;
    try {
      body = await readBody(req);
    } catch {
      log(413);
      send(res, errorReply(413, "request body too large"));
      return;
    }
    const n = ++this.requestCount;
    let answer: { reply: Reply; rawText?: string };
    try {
      this.hook?.(n, { method, path, query });
      if (this.latencyMs > 0) await sleep(this.latencyMs);
      const retryAfter = this.rateLimit.take();
      const fault = retryAfter === null ? this.faults.decide(method, path) : null;
      if (retryAfter !== null) {
        answer = { reply: errorReply(429, "rate limit exceeded", { "retry-after": String(retryAfter) }) };
      } else if (fault?.kind === "reset") {
        log(0);
        req.socket.destroy();
        return;
      } else if (fault?.kind === "status") {
        const headers = fault.retryAfter !== undefined ? { "retry-after": fault.retryAfter } : undefined;
        answer = { reply: errorReply(fault.status, "injected fault", headers) };
      } else {
        if (fault?.kind === "slow") await sleep(fault.delayMs);
        const reply = routeRequest({ method, path, query, body, headers: req.headers }, this.findApp, ROUTES);
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

/** Starts a simulator on loopback (port 0 = a free port). */
export async function startSimulator(options: SimulatorOptions = {}): Promise<Simulator> {
  const sim = new SimulatorImpl(options);
  await sim.listen(options.port ?? 0, options.host ?? "127.0.0.1");
  return sim;
}
