import { Writable } from "node:stream";
import { inspect } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createLogger } from "../../src/log.ts";
import { startSimulator } from "../../src/simulator/index.ts";
import type { Simulator } from "../../src/simulator/types.ts";
import { createTalkJSClient, type TalkJSClient } from "../../src/talkjs/client.ts";
import type { TalkJSClientOptions } from "../../src/talkjs/config.ts";
import { TalkJSApiError } from "../../src/talkjs/errors.ts";

let sim: Simulator;
const clients: TalkJSClient[] = [];
const logLines: string[] = [];
const logger = createLogger({
  level: "debug",
  destination: new Writable({
    write(chunk, _enc, cb) {
      logLines.push(String(chunk));
      cb();
    },
  }),
});

function client(extra: Partial<TalkJSClientOptions> = {}): TalkJSClient {
  const c = createTalkJSClient({
    appId: sim.appId,
    secretKey: sim.secretKey,
    baseUrl: sim.url,
    retry: { minDelayMs: 5, maxDelayMs: 2000, maxAttempts: 4 },
    rateLimit: { perSecond: 1000, burst: 1000 },
    logger,
    ...extra,
  });
  clients.push(c);
  return c;
}

async function caught(p: Promise<unknown>): Promise<TalkJSApiError> {
  try {
    await p;
  } catch (e) {
    if (e instanceof TalkJSApiError) return e;
    throw e;
  }
  throw new Error("expected a TalkJSApiError");
}

function assertNoSecret(e: unknown): void {
  const texts = [String(e), JSON.stringify(e), inspect(e, { depth: 10 }), ...logLines];
  for (const t of texts) {
    expect(t).not.toContain(sim.secretKey);
    expect(t).not.toMatch(/eyJ[\w-]+\.[\w-]+\.[\w-]+/);
  }
}

beforeAll(async () => {
  sim = await startSimulator({ conversations: 50, seed: 7 });
});
afterAll(async () => {
  await Promise.all(clients.map((c) => c.close()));
  await sim.close();
});

describe("client over HTTP", () => {
  it("authenticates in both modes", async () => {
    const id = sim.allConversations()[0]?.id ?? "";
    for (const authMode of ["jwt", "secret-key"] as const) {
      expect((await client({ authMode }).getConversation(id))?.id).toBe(id);
    }
  });

  it("401 gives a clear message without secrets", async () => {
    const e = await caught(client({ secretKey: "sk_test_wrongwrong" }).listConversations());
    expect(e.code).toBe("TALKJS_HTTP_401");
    expect(e.message).toMatch(/check TALKJS_SECRET_KEY/);
    expect(String(e)).not.toContain("sk_test_wrongwrong");
    assertNoSecret(e);
  });

  it("404 → null; odd ids round-trip", async () => {
    const c = client();
    expect(await c.getConversation("nope-does-not-exist")).toBeNull();
    const id = "a/b ?#%é";
    await c.putConversation(id, { subject: "hi", participants: ["u1"] });
    expect((await c.getConversation(id))?.subject).toBe("hi");
    await c.deleteConversation(id);
    expect(await c.getConversation(id)).toBeNull();
  });

  it("malformed JSON and bad shape → typed error with excerpt, retried then failed", async () => {
    const c = client();
    sim.addFault({ fault: { kind: "malformed-json" }, times: 10, probability: 1 });
    const e = await caught(c.listConversations());
    sim.clearFaults();
    expect(e.code).toBe("TALKJS_MALFORMED_RESPONSE");
    expect(e.status).toBe(200);
    expect(e.attempts).toBe(3);
    expect((e.bodyExcerpt ?? "").length).toBeLessThanOrEqual(200);
    assertNoSecret(e);
    sim.addFault({ fault: { kind: "bad-shape", body: { data: [{ id: 5 }] } }, times: 10, probability: 1 });
    const e2 = await caught(c.listConversations());
    sim.clearFaults();
    expect(e2.code).toBe("TALKJS_MALFORMED_RESPONSE");
    expect(e2.message).toMatch(/data/);
  });

  it("429 honours Retry-After seconds and HTTP date", async () => {
    const c = client();
    sim.clearRequestLog();
    sim.addFault({ fault: { kind: "status", status: 429, retryAfter: "1" }, nth: 1 });
    let t = Date.now();
    await c.listConversations();
    expect(Date.now() - t).toBeGreaterThanOrEqual(950);
    expect(sim.requestLog.map((r) => r.status)).toEqual([429, 200]);
    sim.addFault({
      fault: { kind: "status", status: 429, retryAfter: new Date(Date.now() + 2000).toUTCString() },
      nth: 1,
    });
    t = Date.now();
    await c.listConversations();
    expect(Date.now() - t).toBeGreaterThanOrEqual(500);
    expect(c.stats.rateLimited).toBe(2);
  });

  it("a 429 is pacing: it never uses up the attempts kept for 5xx, and its pause is not retry time", async () => {
    const c = client({ retry: { minDelayMs: 5, maxDelayMs: 10, maxAttempts: 2, maxTotalMs: 100 } });
    sim.clearRequestLog();
    sim.addFault({ fault: { kind: "status", status: 429, retryAfter: "0.01" }, probability: 1, times: 5 });
    await c.listConversations();
    expect(sim.requestLog.map((r) => r.status)).toEqual([429, 429, 429, 429, 429, 200]);
    sim.clearFaults();
    sim.clearRequestLog();
    // 503, then a 1.5 s pause, then 503 again: 1.5 s is past the 1 s retry budget, but the
    // pause was the server's pacing, not this request's retrying. (The budget is 1 s, not less,
    // because on a loaded machine the requests themselves spent a 100 ms budget once.)
    const slow = client({ retry: { minDelayMs: 5, maxDelayMs: 10, maxAttempts: 4, maxTotalMs: 1000 } });
    sim.addFault({ fault: { kind: "status", status: 503 }, nth: 1 });
    sim.addFault({ fault: { kind: "status", status: 429, retryAfter: "1.5" }, nth: 2 });
    sim.addFault({ fault: { kind: "status", status: 503 }, nth: 3 });
    const t = Date.now();
    await slow.listConversations();
    sim.clearFaults();
    expect(Date.now() - t).toBeGreaterThanOrEqual(1490);
    expect(sim.requestLog.map((r) => r.status)).toEqual([503, 429, 503, 200]);
  });

  it("5xx and connection reset then success", async () => {
    const c = client();
    for (const fault of [
      { kind: "status", status: 500 },
      { kind: "status", status: 502 },
      { kind: "status", status: 503 },
      { kind: "reset" },
    ] as const) {
      sim.addFault({ fault, nth: 1 });
      expect(Array.isArray(await c.listConversations())).toBe(true);
      sim.clearFaults();
    }
    expect(c.stats.retries).toBe(4);
    // Each retry is logged at info with the wait before it.
    const retries = logLines
      .map((l) => JSON.parse(l) as { level: number; msg: string; waitMs?: number; code?: string })
      .filter((l) => /retrying in \d+ ms$/.test(l.msg));
    expect(retries.length).toBeGreaterThanOrEqual(4);
    for (const r of retries) {
      expect(r.level).toBe(30);
      expect(r.waitMs).toBeGreaterThanOrEqual(5);
      expect(r.msg).toBe(`talkjs request failed (${r.code}), retrying in ${r.waitMs} ms`);
    }
  });

  it("slow beyond headersTimeout → TALKJS_TIMEOUT with attempts", async () => {
    const c = client({
      headersTimeoutMs: 1000,
      bodyTimeoutMs: 1000,
      retry: { maxAttempts: 2, minDelayMs: 5, maxDelayMs: 10 },
    });
    sim.addFault({ fault: { kind: "slow", delayMs: 2500 }, probability: 1, times: 2 });
    const e = await caught(c.listConversations());
    sim.clearFaults();
    expect(e.code).toBe("TALKJS_TIMEOUT");
    expect(e.attempts).toBe(2);
    expect(e.message).toMatch(/2 attempts/);
  });

  it("abort is prompt and not retried", async () => {
    const ac = new AbortController();
    const c = client({ signal: ac.signal });
    sim.addFault({ fault: { kind: "slow", delayMs: 3000 }, nth: 1 });
    const t = Date.now();
    setTimeout(() => ac.abort(), 100);
    const e = await caught(c.listConversations());
    sim.clearFaults();
    expect(e.code).toBe("TALKJS_ABORTED");
    // Well before the 3 s the slow answer would take, with room for a loaded machine.
    expect(Date.now() - t).toBeLessThan(2500);
  });

  it("400 fails fast; exhausted retries say attempts", async () => {
    const c = client();
    sim.clearRequestLog();
    const e = await caught(c.listConversations({ limit: 10_000 }));
    expect(e.code).toBe("TALKJS_HTTP_400");
    expect(sim.requestLog).toHaveLength(1);
    sim.addFault({ fault: { kind: "status", status: 503 }, probability: 1, times: 10 });
    const e2 = await caught(c.listConversations());
    sim.clearFaults();
    expect(e2.attempts).toBe(4);
    expect(e2.message).toMatch(/4 attempts/);
    assertNoSecret(e2);
  });
});
