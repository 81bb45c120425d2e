// Fault injection, switches (rate limit, latency), the request log and the onRequest hook.
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { Simulator } from "../../src/simulator/index.ts";
import { startSimulator } from "../../src/simulator/index.ts";
import type { Conversation } from "../../src/talkjs/types.ts";
import { call, listAll, type Page, page } from "./helpers.ts";

let sim: Simulator;
const raw = (path: string) =>
  fetch(`${sim.url}/v1/${sim.appId}/${path}`, { headers: { authorization: `Bearer ${sim.secretKey}` } });

beforeAll(async () => {
  sim = await startSimulator({ conversations: 200, seed: 11 });
});
afterEach(() => {
  sim.clearFaults();
  sim.onRequest(null);
  sim.setOptions({ rateLimit: null, latencyMs: 0 });
});
afterAll(() => sim.close());

describe("faults", () => {
  it("status faults: 429 with Retry-After (seconds or HTTP date), 500/502/503/504", async () => {
    const date = new Date(Date.now() + 5000).toUTCString();
    sim.addFault({ fault: { kind: "status", status: 429, retryAfter: "2" }, nth: 1 });
    sim.addFault({ fault: { kind: "status", status: 429, retryAfter: date }, nth: 2 });
    let res = await raw("conversations");
    expect(res.status).toBe(429);
    expect(res.headers.get("retry-after")).toBe("2");
    expect(await res.json()).toMatchObject({ errorCode: "TOO_MANY_REQUESTS" });
    sim.throttleAll(0); // ends the app-wide hold the 429 started
    res = await raw("conversations");
    expect(res.status).toBe(429);
    expect(res.headers.get("retry-after")).toBe(date);
    sim.throttleAll(0);
    expect((await raw("conversations")).status).toBe(200); // nth fires once
    for (const status of [500, 502, 503, 504] as const) {
      sim.clearFaults();
      sim.addFault({ fault: { kind: "status", status }, nth: 1 });
      const r = await raw("conversations");
      expect(r.status).toBe(status);
      expect(r.headers.get("content-type")).toMatch(/application\/json/);
      expect(await r.json()).toMatchObject({ errorCode: expect.any(String) });
    }
  });

  it("by default only listing requests match; match narrows to other routes", async () => {
    sim.addFault({ fault: { kind: "status", status: 500 } });
    const c = sim.allConversations()[0] as Conversation;
    expect((await raw(`conversations/${encodeURIComponent(c.id)}`)).status).toBe(200);
    expect((await raw("conversations")).status).toBe(500);
    expect((await raw("users/user_00001/conversations")).status).toBe(500);
    sim.clearFaults();
    sim.addFault({
      fault: { kind: "status", status: 503 },
      match: { method: "GET", pathRegex: /\/messages$/ },
    });
    expect((await raw(`conversations/${encodeURIComponent(c.id)}/messages`)).status).toBe(503);
    expect((await raw("conversations")).status).toBe(200);
  });

  it("reset destroys the connection and logs status 0", async () => {
    sim.clearRequestLog();
    sim.addFault({ fault: { kind: "reset" }, nth: 1 });
    await expect(raw("conversations")).rejects.toThrow();
    expect(sim.requestLog.at(-1)).toMatchObject({ method: "GET", status: 0 });
    expect((await raw("conversations")).status).toBe(200);
  });

  it("slow answers correctly after the delay", async () => {
    sim.addFault({ fault: { kind: "slow", delayMs: 150 }, nth: 1 });
    const t = Date.now();
    const res = await call<Page>(sim, "conversations");
    expect(Date.now() - t).toBeGreaterThanOrEqual(140);
    expect(res.body.data).toHaveLength(10);
  });

  it("malformed-json answers 200 with a body that does not parse", async () => {
    sim.addFault({ fault: { kind: "malformed-json" }, nth: 1 });
    const res = await raw("conversations");
    expect(res.status).toBe(200);
    const text = await res.text();
    expect(text.length).toBeGreaterThan(0);
    expect(() => JSON.parse(text)).toThrow();
  });

  it("bad-shape answers 200 with valid JSON of the wrong shape", async () => {
    sim.addFault({ fault: { kind: "bad-shape", body: { data: [{ id: 5 }] } }, nth: 1 });
    const res = await raw("conversations");
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ data: [{ id: 5 }] });
  });

  it("truncate keeps the first items, then every later page is empty until cleared", async () => {
    sim.addFault({ fault: { kind: "truncate", keep: 3 }, nth: 2 });
    const p1 = await page(sim, { limit: 5 });
    expect(p1).toHaveLength(5);
    const p2 = await page(sim, { limit: 5, startingAfter: p1[4]?.id });
    expect(p2).toHaveLength(3);
    expect(await page(sim, { limit: 5, startingAfter: p2[2]?.id })).toHaveLength(0);
    sim.clearFaults();
    expect(await page(sim, { limit: 5, startingAfter: p2[2]?.id })).toHaveLength(5);
  });

  it("first-page-only: a message listing's first page is served, every later page is empty", async () => {
    const c = sim.allConversations()[0] as Conversation;
    for (let i = 0; i < 7; i++) sim.addMessage(c.id, { senderId: "user_00001", text: `m${i}` });
    const path = `conversations/${encodeURIComponent(c.id)}/messages`;
    sim.addFault({ fault: { kind: "first-page-only" }, match: { method: "GET", pathRegex: /\/messages$/ } });
    const first = await call<{ data: { id: string }[] }>(sim, `${path}?limit=3`);
    expect(first.body.data).toHaveLength(3);
    const second = await call<{ data: unknown[] }>(
      sim,
      `${path}?limit=3&startingAfter=${first.body.data[2]?.id}`,
    );
    expect(second.status).toBe(200);
    expect(second.body.data).toEqual([]);
    sim.clearFaults();
    const real = await call<{ data: unknown[] }>(
      sim,
      `${path}?limit=3&startingAfter=${first.body.data[2]?.id}`,
    );
    expect(real.body.data).toHaveLength(3);
  });

  it("probability faults are deterministic by seed", async () => {
    const run = async () => {
      const s = await startSimulator({ conversations: 20, seed: 5 });
      s.addFault({ fault: { kind: "status", status: 503 }, probability: 0.4 });
      const statuses: number[] = [];
      for (let i = 0; i < 30; i++) {
        const r = await fetch(`${s.url}/v1/demo/conversations`, {
          headers: { authorization: `Bearer ${s.secretKey}` },
        });
        await r.arrayBuffer();
        statuses.push(r.status);
      }
      await s.close();
      return statuses;
    };
    const a = await run();
    expect(await run()).toEqual(a);
    expect(a).toContain(503);
    expect(a).toContain(200);
  });

  it("times caps how often a rule fires", async () => {
    sim.addFault({ fault: { kind: "status", status: 500 }, times: 2 });
    const statuses = [];
    for (let i = 0; i < 4; i++) statuses.push((await raw("conversations")).status);
    expect(statuses).toEqual([500, 500, 200, 200]);
  });
});

describe("switches", () => {
  it("rate limit answers 429 with Retry-After past the burst", async () => {
    sim.setOptions({ rateLimit: { perSecond: 1, burst: 3 } });
    const statuses = [];
    for (let i = 0; i < 4; i++) statuses.push((await raw("conversations")).status);
    expect(statuses).toEqual([200, 200, 200, 429]);
    // Inside the hold the first 429 opened: refused, told how much of its second is left.
    const res = await raw("conversations");
    expect(res.status).toBe(429);
    expect(Number(res.headers.get("retry-after"))).toBeGreaterThan(0);
    expect(Number(res.headers.get("retry-after"))).toBeLessThanOrEqual(1);
  });

  it("a 429 with Retry-After holds the whole app until it passes; each 429 is logged", async () => {
    sim.clearRequestLog();
    sim.addFault({
      fault: { kind: "status", status: 429, retryAfter: "0.2" },
      nth: 1,
      match: { pathRegex: /messages$/ },
    });
    const id = encodeURIComponent(sim.allConversations()[0]?.id as string);
    const first = await raw(`conversations/${id}/messages`);
    expect(first.status).toBe(429);
    // Another endpoint, no fault of its own: refused too, told how long is left.
    const held = await raw("conversations");
    expect(held.status).toBe(429);
    expect(Number(held.headers.get("retry-after"))).toBeGreaterThan(0);
    expect(Number(held.headers.get("retry-after"))).toBeLessThanOrEqual(0.2);
    const [opened, hold] = sim.throttleLog;
    expect(opened).toMatchObject({ retryAfterMs: 200, reason: "fault" });
    expect(opened?.until).toBe((opened?.at ?? 0) + 200);
    expect(hold).toMatchObject({ reason: "hold", until: opened?.until });
    await new Promise((r) => setTimeout(r, (opened?.until ?? 0) - Date.now() + 5));
    expect((await raw("conversations")).status).toBe(200);
    expect(sim.requestLog.map((r) => r.status)).toEqual([429, 429, 200]);
    // The rate limit's 429s hold the app the same way.
    sim.setOptions({ rateLimit: { perSecond: 1, burst: 1, retryAfterSeconds: 0.15 } });
    expect((await raw("conversations")).status).toBe(200);
    expect((await raw("conversations")).status).toBe(429);
    expect(sim.throttleLog.at(-1)).toMatchObject({ reason: "limit", retryAfterMs: 150 });
    expect((await raw("conversations")).status).toBe(429);
    expect(sim.throttleLog.at(-1)).toMatchObject({ reason: "hold" });
  });

  it("throttleAll: a 429 window over every request, with or without Retry-After", async () => {
    sim.clearRequestLog();
    sim.throttleAll(150);
    const a = await raw("conversations");
    expect(a.status).toBe(429);
    expect(Number(a.headers.get("retry-after"))).toBeLessThanOrEqual(0.15);
    sim.throttleAll(150, { retryAfter: false });
    const b = await raw("conversations");
    expect(b.status).toBe(429);
    expect(b.headers.get("retry-after")).toBeNull();
    expect(sim.throttleLog.map((e) => [e.reason, e.retryAfterMs === null])).toEqual([
      ["window", false],
      ["window", true],
    ]);
    sim.throttleAll(0);
    expect((await raw("conversations")).status).toBe(200);
    sim.clearRequestLog();
    expect(sim.throttleLog).toEqual([]);
  });

  it("latency delays every answer", async () => {
    sim.setOptions({ latencyMs: 80 });
    const t = Date.now();
    await raw("conversations/x");
    expect(Date.now() - t).toBeGreaterThanOrEqual(75);
  });
});

describe("request log", () => {
  it("records method, raw path, decoded query and status, never the Authorization header", async () => {
    sim.clearRequestLog();
    await raw("conversations?limit=2&orderBy=createdAt");
    await raw("conversations/no%2Fsuch");
    await fetch(`${sim.url}/v1/${sim.appId}/conversations`);
    expect(
      sim.requestLog.map(({ method, path, query, status }) => ({ method, path, query, status })),
    ).toEqual([
      {
        method: "GET",
        path: `/v1/${sim.appId}/conversations`,
        query: { limit: "2", orderBy: "createdAt" },
        status: 200,
      },
      { method: "GET", path: `/v1/${sim.appId}/conversations/no%2Fsuch`, query: {}, status: 404 },
      { method: "GET", path: `/v1/${sim.appId}/conversations`, query: {}, status: 401 },
    ]);
    expect(JSON.stringify(sim.requestLog)).not.toContain(sim.secretKey);
    expect(sim.requestLog.every((e) => typeof e.at === "number")).toBe(true);
  });
});

describe("onRequest hook: mutations between the pages of a running listing", () => {
  it("a new message moves a not-yet-seen conversation to the front, so a startingAfter walk misses it", async () => {
    const s = await startSimulator({ conversations: 100, seed: 21 });
    try {
      const order = (await listAll(s, { limit: 30 })).map((c) => c.id);
      const victim = order[80] as string;
      let firstPageRequest = 0;
      s.onRequest((n) => {
        if (firstPageRequest === 0) firstPageRequest = n;
        if (n === firstPageRequest + 1) s.addMessage(victim, { senderId: "user_00001", text: "bump" });
      });
      const seen = (await listAll(s, { limit: 30 })).map((c) => c.id);
      expect(seen).not.toContain(victim);
      expect(seen).toHaveLength(99);
      s.onRequest(null);
      expect((await page(s, { limit: 1 }))[0]?.id).toBe(victim);
    } finally {
      await s.close();
    }
  });

  it("create, metadata edit, participant removal and delete mid-listing", async () => {
    const s = await startSimulator({ conversations: 100, seed: 22 });
    try {
      const asc = (await listAll(s, { orderBy: "createdAt", orderDirection: "ASC", limit: 30 })).map(
        (c) => c.id,
      );
      const edited = asc[90] as string;
      const removed = asc[5] as string;
      const deleted = asc[60] as string;
      const cursor = asc[29] as string; // last id of page 1: deleted before page 2 is asked for
      const member = Object.keys(s.conversation(edited)?.participants ?? {})[0] as string;
      let calls = 0;
      s.onRequest(() => {
        calls++;
        if (calls !== 2) return;
        s.createConversation({ id: "new_mid_listing", participants: ["user_new"] });
        s.updateConversation(edited, { subject: "edited mid-listing" });
        s.removeParticipant(edited, member);
        s.deleteConversation(deleted);
        s.deleteConversation(cursor);
      });
      const got = await listAll(s, { orderBy: "createdAt", orderDirection: "ASC", limit: 30 });
      const ids = got.map((c) => c.id);
      expect(ids).toContain("new_mid_listing"); // newest createdAt: lands at the end of an ASC walk
      expect(ids).not.toContain(deleted);
      expect(ids).toContain(removed);
      // the cursor was seen on page 1 and its deletion did not break the walk: 100 - deleted + created
      expect(ids.length).toBe(100);
      expect(new Set(ids).size).toBe(ids.length);
      expect(ids.slice(30, 40)).toEqual(
        asc
          .slice(30, 41)
          .filter((id) => id !== deleted)
          .slice(0, 10),
      );
      const e = got.find((c) => c.id === edited);
      expect(e?.subject).toBe("edited mid-listing");
      expect(e?.participants[member]).toBeUndefined();
      expect(s.conversation(edited)?.lastMessage).toEqual(s.messages(edited)[0] ?? null);
    } finally {
      await s.close();
    }
  });
});

describe("the raw secret key in logs of a 401", () => {
  it("is not logged even when wrong", async () => {
    sim.clearRequestLog();
    const res = await call(sim, "conversations", { token: "sk_test_leaked_value" });
    expect(res.status).toBe(401);
    expect(JSON.stringify(sim.requestLog)).not.toContain("sk_test_leaked_value");
  });
});
