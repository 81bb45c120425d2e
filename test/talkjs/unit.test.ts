import { createHmac } from "node:crypto";
import { describe, expect, it } from "vitest";
import { redactSecrets, scrubUrl } from "../../src/redact.ts";
import { signAppJwt, TokenProvider } from "../../src/talkjs/auth.ts";
import { resolveClientOptions } from "../../src/talkjs/config.ts";
import {
  advanceCursor,
  afterLostAnchor,
  INITIAL_CURSOR,
  nextPageRequest,
  type PagerParams,
  TIE_IDS_KEPT,
  verifyFrom,
} from "../../src/talkjs/pagination.ts";
import { parseRetryAfter, TokenBucket } from "../../src/talkjs/ratelimit.ts";
import type { Conversation } from "../../src/talkjs/types.ts";

const conv = (id: string, createdAt: number): Conversation => ({
  id,
  createdAt,
  subject: null,
  photoUrl: null,
  welcomeMessages: null,
  custom: {},
  lastMessage: null,
  participants: {},
  topicId: null,
});

describe("jwt", () => {
  it("signs HS256 app token with 30 s expiry", () => {
    const t = signAppJwt("app1", "sk_test_x", 1_700_000_000_000);
    const [h, p, s] = t.split(".");
    expect(JSON.parse(Buffer.from(h ?? "", "base64url").toString())).toEqual({ alg: "HS256", typ: "JWT" });
    const payload = JSON.parse(Buffer.from(p ?? "", "base64url").toString());
    expect(payload).toEqual({ tokenType: "app", iss: "app1", iat: 1_700_000_000, exp: 1_700_000_030 });
    expect(s).toBe(createHmac("sha256", "sk_test_x").update(`${h}.${p}`).digest("base64url"));
  });
  it("caches and refreshes 10 s before expiry", () => {
    let now = 1_700_000_000_000;
    const tp = new TokenProvider("a", "sk_test_secret", "jwt", () => now);
    const t1 = tp.token();
    now += 19_000;
    expect(tp.token()).toBe(t1);
    now += 2_000;
    expect(tp.token()).not.toBe(t1);
    expect(new TokenProvider("a", "sk_test_secret", "secret-key").token()).toBe("sk_test_secret");
  });
});

describe("config", () => {
  it("rejects old REST versions and bad values, naming the option (the config layer names settings)", () => {
    expect(() => resolveClientOptions({ appId: "a", secretKey: "s", restVersion: "2020-01-01" })).toThrow(
      /^restVersion: must be a date YYYY-MM-DD/,
    );
    expect(() => resolveClientOptions({ appId: "a", secretKey: "s", connections: 0 })).toThrow(
      /^connections: must be a positive integer, got 0$/,
    );
    expect(() => resolveClientOptions({ appId: "a", secretKey: "s", rateLimit: { perSecond: 0 } })).toThrow(
      /^rateLimit\.perSecond: must be a positive number, got 0$/,
    );
    expect(resolveClientOptions({ appId: "a", secretKey: "s" }).retry.maxAttempts).toBe(6);
  });
});

describe("retry-after", () => {
  it("parses both forms", () => {
    expect(parseRetryAfter("1", 0)).toBe(1000);
    const now = Date.parse("Wed, 25 Nov 2026 03:00:00 GMT");
    expect(parseRetryAfter("Wed, 25 Nov 2026 03:00:02 GMT", now)).toBe(2000);
    expect(parseRetryAfter("garbage", now)).toBeUndefined();
    expect(parseRetryAfter(undefined, now)).toBeUndefined();
  });
});

describe("token bucket", () => {
  it("allows burst then paces", () => {
    const b = new TokenBucket(2, 3, 0);
    expect([b.take(0), b.take(0), b.take(0)]).toEqual([0, 0, 0]);
    expect(b.take(0)).toBe(500);
    expect(b.take(500)).toBe(0);
    expect(b.take(500)).toBeGreaterThan(0);
  });
});

describe("redact", () => {
  it("scrubs secrets and bearer tokens", () => {
    expect(redactSecrets("key sk_live_abcdef and Bearer xyz.abc", ["sk_live_abcdef"])).not.toMatch(
      /abcdef|xyz/,
    );
    expect(scrubUrl("https://u:p@h/x?token=abc&a=1")).toBe("https://h/x?token=%5BREDACTED%5D&a=1");
  });
});

describe("cursor functions", () => {
  const p: PagerParams = { orderBy: "createdAt", orderDirection: "ASC" };
  const activity: PagerParams = { orderBy: "lastActivity", orderDirection: "ASC" };
  it("first request has no offset; a cursor without anchor overlaps the boundary", () => {
    expect(nextPageRequest(INITIAL_CURSOR, p, 30).offsetTs).toBeUndefined();
    expect(nextPageRequest({ ts: 100, idsAtTs: ["a"] }, p, 30).offsetTs).toBe(99);
    expect(nextPageRequest({ ts: 100, idsAtTs: ["a"] }, { ...p, orderDirection: "DESC" }, 30).offsetTs).toBe(
      101,
    );
  });
  it("createdAt: the normal step is startingAfter the last id (nothing asked twice)", () => {
    const s = advanceCursor(INITIAL_CURSOR, [conv("a", 1), conv("b", 2), conv("c", 3)], p);
    expect(s.cursor).toEqual({ ts: 3, idsAtTs: ["c"], startingAfter: "c" });
    const req = nextPageRequest(s.cursor, p, 30);
    expect(req.startingAfter).toBe("c");
    expect(req.offsetTs).toBeUndefined();
  });
  it("lastActivity (conversations move): steps by timestamp, dedupes boundary ids", () => {
    const s = advanceCursor(
      { ts: 10, idsAtTs: ["a"] },
      [conv("a", 10), conv("b", 10), conv("c", 11)],
      activity,
    );
    expect(s.fresh.map((c) => c.id)).toEqual(["b", "c"]);
    expect(s.cursor).toEqual({ ts: 11, idsAtTs: ["c"] });
  });
  it("lastActivity: a whole page of ties switches to startingAfter, and back", () => {
    const s = advanceCursor(INITIAL_CURSOR, [conv("a", 5), conv("b", 5)], activity);
    expect(s.cursor).toEqual({ ts: 5, idsAtTs: ["a", "b"], startingAfter: "b" });
    expect(nextPageRequest(s.cursor, activity, 2)).toMatchObject({ startingAfter: "b" });
    const s2 = advanceCursor(s.cursor, [conv("c", 5), conv("d", 6)], activity);
    expect(s2.fresh.map((c) => c.id)).toEqual(["c", "d"]);
    expect(s2.cursor).toEqual({ ts: 6, idsAtTs: ["d"] });
  });
  it("the ids kept at the boundary are bounded (the most recent ones)", () => {
    let cursor = INITIAL_CURSOR;
    for (let i = 0; i < 10; i++) {
      const page = Array.from({ length: 30 }, (_, j) => conv(`t${String(i * 30 + j).padStart(4, "0")}`, 5));
      cursor = advanceCursor(cursor, page, p).cursor;
    }
    expect(cursor.idsAtTs).toHaveLength(TIE_IDS_KEPT);
    expect(cursor.idsAtTs.at(-1)).toBe("t0299");
    expect(cursor.idsAtTs[0]).toBe(`t${String(300 - TIE_IDS_KEPT).padStart(4, "0")}`);
    expect(cursor.startingAfter).toBe("t0299");
    // A checkpoint written before the bound (every id of the group) is trimmed at the next page.
    const old = { ts: 5, idsAtTs: Array.from({ length: 5000 }, (_, i) => `o${i}`), startingAfter: "o4999" };
    expect(advanceCursor(old, [conv("n1", 5)], p).cursor.idsAtTs).toHaveLength(TIE_IDS_KEPT);
  });
  it("inclusive page of only seen ids does not stop; short page does not end; empty ends", () => {
    const s = advanceCursor({ ts: 5, idsAtTs: ["a", "b"] }, [conv("a", 5), conv("b", 5)], p);
    expect(s.done).toBe(false);
    expect(s.cursor.startingAfter).toBe("b");
    expect(advanceCursor({ ts: 5, idsAtTs: [] }, [conv("x", 7)], p).done).toBe(false);
    expect(advanceCursor({ ts: 5, idsAtTs: [] }, [], p).done).toBe(true);
  });
  it("a lost anchor: the previous id at the boundary anchors next; none left: re-ask by timestamp", () => {
    const walking = { ts: 5, idsAtTs: ["a", "b", "c"], startingAfter: "c" };
    const s = afterLostAnchor(walking, p);
    expect(s).toEqual({ ts: 5, idsAtTs: ["a", "b"], startingAfter: "b" });
    expect(afterLostAnchor({ ts: 5, idsAtTs: ["c"], startingAfter: "c" }, p)).toEqual({
      ts: 5,
      idsAtTs: [],
      verifying: true,
    });
    // lastActivity anchors move: never an earlier one, straight to the timestamp.
    expect(afterLostAnchor(walking, activity)).toEqual({ ts: 5, idsAtTs: ["a", "b"], verifying: true });
  });
  it("an empty answer is confirmed once by timestamp (filtered listing or anchor gone)", () => {
    const s = { cursor: verifyFrom({ ts: 5, idsAtTs: ["a", "b"], startingAfter: "b" }, "b") };
    expect(s.cursor).toEqual({ ts: 5, idsAtTs: ["a", "b"], verifying: true, emptyAfter: "b" });
    expect(nextPageRequest(s.cursor, p, 2)).toMatchObject({ offsetTs: 4 });
    expect(nextPageRequest(s.cursor, p, 2).startingAfter).toBeUndefined();
    // The re-ask ends, with nothing new, on the anchor whose answer was empty: that was the end.
    expect(advanceCursor(s.cursor, [conv("a", 5), conv("b", 5)], p).done).toBe(true);
    // Without that proof: walk on by a live anchor, still verifying.
    const v = verifyFrom({ ts: 5, idsAtTs: ["a", "b"], startingAfter: "b" });
    const s2 = advanceCursor(v, [conv("a", 5), conv("b", 5)], p);
    expect(s2.done).toBe(false);
    expect(s2.cursor).toMatchObject({ startingAfter: "b", verifying: true });
    // The walk finds the rest of the tie group the deleted anchor hid: fresh, flag cleared.
    const s3 = advanceCursor(s2.cursor, [conv("c", 5), conv("d", 6)], p);
    expect(s3.fresh.map((c) => c.id)).toEqual(["c", "d"]);
    expect(s3.cursor.verifying).toBeUndefined();
    // A second empty answer while verifying really is the end.
    expect(advanceCursor(s2.cursor, [], p).done).toBe(true);
  });
});

describe("logger", () => {
  it("redacts authorization paths and secret values", async () => {
    const { createLogger } = await import("../../src/log.ts");
    const lines: string[] = [];
    const log = createLogger({
      secrets: ["sk_test_topsecret"],
      destination: { write: (l: string) => lines.push(l) },
    });
    log.info({ headers: { authorization: "Bearer abc.def.ghi" }, note: "key sk_test_topsecret" }, "hello");
    expect(lines.join("")).not.toMatch(/abc\.def|topsecret/);
    expect(lines.join("")).toContain("hello");
  });
});
