// The receiver and the inbox without a mirror: a body streamed without Content-Length is cut off
// at 1 MB and nothing is stored; the inbox deduplicates by body and prunes only processed events
// past the retention.
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { WebhookInbox } from "../../src/store/webhook-inbox.ts";
import { bodyHash, signWebhook } from "../../src/sync/webhooks/verify.ts";
import { startWebhookServer } from "../../src/worker/webhooks.ts";

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
const inboxFile = (): string => {
  const d = mkdtempSync(path.join(os.tmpdir(), "webhook-inbox-"));
  dirs.push(d);
  return path.join(d, "inbox.db");
};

describe("webhook receiver", () => {
  it("cuts a streamed body off past 1 MB (no Content-Length) and stores nothing", async () => {
    const inbox = new WebhookInbox(inboxFile());
    const rejected: string[] = [];
    const server = await startWebhookServer("127.0.0.1", 0, {
      inbox,
      secrets: ["sk_test_x"],
      onAccepted: () => undefined,
      onRejected: (r) => rejected.push(r),
      onStoreError: () => undefined,
    });
    try {
      const chunk = new Uint8Array(64 * 1024).fill(120);
      let sent = 0;
      const body = new ReadableStream<Uint8Array>({
        pull(controller) {
          if (sent >= 4 * 1024 * 1024) return controller.close();
          sent += chunk.length;
          controller.enqueue(chunk);
        },
      });
      const ts = String(Date.now());
      const res = await fetch(server.url, {
        method: "POST",
        body,
        duplex: "half",
        headers: { "x-talkjs-timestamp": ts, "x-talkjs-signature": signWebhook("sk_test_x", ts, "x") },
      } as RequestInit).catch((error: unknown) => error);
      // Either the 400 arrives or the connection is closed while we still send: never a 200.
      if (res instanceof Response) expect(res.status).toBe(400);
      expect(rejected).toEqual(["oversize"]);
      expect(inbox.counts().pending).toBe(0);
    } finally {
      await server.close();
      inbox.close();
    }
  });
});

describe("webhook inbox", () => {
  it("stores a body once, hands out pending events in order, and prunes only old processed ones", () => {
    const inbox = new WebhookInbox(inboxFile());
    try {
      const ev = (body: string, receivedAt: number) => ({
        bodyHash: bodyHash(Buffer.from(body)),
        type: "message.sent",
        body,
        receivedAt,
      });
      expect(inbox.insert(ev("a", 1_000))).toBe(true);
      expect(inbox.insert(ev("a", 2_000))).toBe(false);
      expect(inbox.insert(ev("b", 3_000))).toBe(true);
      const pending = inbox.pending(10);
      expect(pending.map((e) => e.body)).toEqual(["a", "b"]);
      expect(inbox.counts()).toEqual({ pending: 2, oldestPendingAt: 1_000 });
      inbox.markProcessed([pending[0]?.id as number], 10_000);
      expect(inbox.prune(5_000)).toBe(0); // processed after the cut-off: kept
      expect(inbox.prune(20_000)).toBe(1); // processed before it: gone; the pending one stays
      expect(inbox.counts()).toEqual({ pending: 1, oldestPendingAt: 3_000 });
    } finally {
      inbox.close();
    }
  });
});
