// The simulator's routing, rate limit and fault rewrite as pure pieces (over HTTP: the other files).
import { describe, expect, it } from "vitest";
import { applyFault } from "../../src/simulator/faults.ts";
import { errorReply, ok } from "../../src/simulator/http.ts";
import { TokenBucket } from "../../src/simulator/ratelimit.ts";
import { byMethod, matchPattern, route } from "../../src/simulator/router.ts";

describe("router", () => {
  const pattern = route("conversations/:conversationId/readBy/:userId", () => ok()).pattern;

  it("matchPattern: literals must be equal, a :name takes one non-empty segment", () => {
    expect(matchPattern(pattern, ["conversations", "c 1", "readBy", "u/1"])).toEqual({
      conversationId: "c 1",
      userId: "u/1",
    });
    expect(matchPattern(pattern, ["conversations", "", "readBy", "u1"])).toBeNull();
    expect(matchPattern(pattern, ["conversations", "c1", "readby", "u1"])).toBeNull();
    expect(matchPattern(pattern, ["conversations", "c1", "readBy"])).toBeNull();
    expect(matchPattern(pattern, ["conversations", "c1", "readBy", "u1", ""])).toBeNull();
  });

  it("byMethod: another method is a 405 naming it, inherited names included", () => {
    const handle = byMethod({ GET: () => ok({ got: true }) });
    const req = (method: string) => ({
      method,
      param: () => "",
      query: {},
      body: "",
      version: "2024-01-01",
      app: undefined as never,
    });
    expect(handle(req("GET"))).toEqual(ok({ got: true }));
    expect(handle(req("POST"))).toEqual(errorReply(405, "POST not supported here"));
    expect(handle(req("constructor")).status).toBe(405);
  });
});

describe("TokenBucket", () => {
  it("lets a burst through, then answers with the seconds until the next token", () => {
    let t = 0;
    const bucket = new TokenBucket({ perSecond: 2, burst: 3 }, () => t);
    expect([bucket.take(), bucket.take(), bucket.take()]).toEqual([null, null, null]);
    expect(bucket.take()).toBe(1);
    t += 500; // half a second at 2/s: one token
    expect(bucket.take()).toBeNull();
    expect(bucket.take()).toBe(1);
  });

  it("a fixed Retry-After wins; no limit always passes; configure starts from a full bucket", () => {
    const t = 0;
    const bucket = new TokenBucket({ perSecond: 0.1, burst: 1, retryAfterSeconds: 7 }, () => t);
    expect(bucket.take()).toBeNull();
    expect(bucket.take()).toBe(7);
    bucket.configure(null);
    expect(Array.from({ length: 100 }, () => bucket.take()).every((x) => x === null)).toBe(true);
    bucket.configure({ perSecond: 0.1, burst: 2 });
    expect([bucket.take(), bucket.take(), bucket.take()]).toEqual([null, null, 10]);
  });
});

describe("applyFault", () => {
  const page = ok({ data: [1, 2, 3] });

  it("truncates a listing page and leaves other answers alone", () => {
    expect(applyFault(page, { kind: "truncate", keep: 1 })).toEqual({ reply: ok({ data: [1] }) });
    expect(applyFault(ok({ id: "c" }), { kind: "truncate", keep: 0 })).toEqual({ reply: ok({ id: "c" }) });
    const notFound = errorReply(404, "no conversation");
    expect(applyFault(notFound, { kind: "malformed-json" })).toEqual({ reply: notFound });
    expect(applyFault(page, null)).toEqual({ reply: page });
  });

  it("malformed-json is never valid JSON; bad-shape is the rule's body", () => {
    const { rawText } = applyFault(page, { kind: "malformed-json" });
    expect(() => JSON.parse(rawText ?? "")).toThrow();
    expect(applyFault(page, { kind: "bad-shape", body: { data: "x" } }).rawText).toBe('{"data":"x"}');
  });
});
