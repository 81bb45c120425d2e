// The webhook receiver: POST /webhooks/talkjs on WEBHOOK_PORT (its own port: /metrics stays
// internal; TLS by a reverse proxy). Thin: it reads at most 1 MB of raw body, verifies it
// (src/sync/webhooks/verify.ts), stores it durably in the inbox and only then answers 200; the
// consumer is told there is work. Rejections store nothing and never echo a secret.
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { WebhookInbox } from "../store/webhook-inbox.ts";
import {
  bodyHash,
  MAX_WEBHOOK_BODY_BYTES,
  parseWebhookEvent,
  type RejectReason,
  rejectStatus,
  verifyWebhook,
} from "../sync/webhooks/verify.ts";
import { listenOn } from "./listen.ts";

export const WEBHOOK_PATH = "/webhooks/talkjs";

export interface WebhookReceiverHooks {
  inbox: WebhookInbox;
  secrets: readonly string[];
  /** An event was stored (duplicate: the same body had been stored before). */
  onAccepted(type: string, duplicate: boolean): void;
  onRejected(reason: RejectReason): void;
  /** Storing failed (the disk): answered 503 so TalkJS retries. Never includes the body. */
  onStoreError(error: unknown): void;
  now?: () => number;
}

export interface WebhookServer {
  url: string;
  port: number;
  close(): Promise<void>;
}

/** The raw body, or "oversize" as soon as it passes the limit (the rest is never buffered). */
function readBody(req: IncomingMessage, limit: number): Promise<Buffer | "oversize"> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers["content-length"]);
    if (Number.isFinite(declared) && declared > limit) return resolve("oversize");
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    req.on("data", (chunk: Buffer) => {
      if (done) return;
      size += chunk.length;
      if (size > limit) {
        done = true;
        chunks.length = 0;
        req.pause();
        resolve("oversize");
        return;
      }
      chunks.push(chunk);
    });
    req.on("end", () => {
      if (!done) resolve(Buffer.concat(chunks));
    });
    req.on("error", reject);
  });
}

export async function startWebhookServer(
  host: string,
  port: number,
  hooks: WebhookReceiverHooks,
): Promise<WebhookServer> {
  const now = hooks.now ?? Date.now;
  const server: Server = createServer((req, res) => {
    const reply = (status: number, body: Record<string, unknown>, close = false): void => {
      res.writeHead(status, {
        "content-type": "application/json; charset=utf-8",
        "cache-control": "no-store",
        ...(close ? { connection: "close" } : {}),
      });
      res.end(`${JSON.stringify(body)}\n`);
    };
    const path = (req.url ?? "/").split("?")[0];
    if (path !== WEBHOOK_PATH) return reply(404, { error: "not found" });
    if (req.method !== "POST") return reply(405, { error: "only POST" });
    const reject = (reason: RejectReason, close = false): void => {
      hooks.onRejected(reason);
      reply(rejectStatus(reason), { error: reason }, close);
    };
    readBody(req, MAX_WEBHOOK_BODY_BYTES)
      .then((body) => {
        if (body === "oversize") {
          // Close the connection instead of reading the rest of a huge body.
          reject("oversize", true);
          res.on("finish", () => req.destroy());
          return;
        }
        const header = (name: string): string | undefined => {
          const v = req.headers[name];
          return Array.isArray(v) ? v[0] : v;
        };
        const why = verifyWebhook({
          body,
          timestamp: header("x-talkjs-timestamp"),
          signature: header("x-talkjs-signature"),
          secrets: hooks.secrets,
          now: now(),
        });
        if (why !== null) return reject(why);
        const event = parseWebhookEvent(body);
        if (event === null) return reject("malformed");
        let stored: boolean;
        try {
          stored = hooks.inbox.insert({
            bodyHash: bodyHash(body),
            type: event.type,
            body: body.toString("utf8"),
            receivedAt: now(),
          });
        } catch (error) {
          hooks.onStoreError(error);
          return reply(503, { error: "not stored; retry" });
        }
        hooks.onAccepted(event.type, !stored);
        reply(200, { ok: true });
      })
      .catch(() => {
        if (!res.headersSent) reply(400, { error: "malformed" });
      });
  });
  server.keepAliveTimeout = 5_000;
  server.requestTimeout = 10_000;
  const listening = await listenOn(server, host, port);
  return { url: `${listening.origin}${WEBHOOK_PATH}`, port: listening.port, close: listening.close };
}
