// GET conversations and users/{id}/conversations: ordering, cursors, filters, limits, versions.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Simulator } from "../../src/simulator/index.ts";
import { startSimulator } from "../../src/simulator/index.ts";
import { type Conversation, lastActivityOf } from "../../src/talkjs/types.ts";
import { call, listAll, type Page, page, qs } from "./helpers.ts";

const NOW = Date.UTC(2026, 0, 1);
let sim: Simulator;
let all: Conversation[];

type Key = "createdAt" | "lastActivity";
const keyOf = (k: Key) => (c: Conversation) => (k === "createdAt" ? c.createdAt : lastActivityOf(c));

/** The expected order: timestamp then id, both in the requested direction. */
function sorted(list: Conversation[], k: Key, dir: "ASC" | "DESC"): Conversation[] {
  const key = keyOf(k);
  const s = [...list].sort((a, b) => key(a) - key(b) || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  return dir === "ASC" ? s : s.reverse();
}
const ids = (l: Conversation[]) => l.map((c) => c.id);

/** The most shared createdAt value of the app (a bulk-import burst). */
function burstCreatedAt(): { ts: number; count: number } {
  const counts = new Map<number, number>();
  for (const c of all) counts.set(c.createdAt, (counts.get(c.createdAt) ?? 0) + 1);
  const [ts, count] = [...counts].sort((a, b) => b[1] - a[1])[0] as [number, number];
  return { ts, count };
}

beforeAll(async () => {
  sim = await startSimulator({ conversations: 1500, seed: 7, now: () => NOW });
  all = sim.allConversations();
});
afterAll(() => sim.close());

describe("ordering and startingAfter paging", () => {
  for (const orderBy of ["createdAt", "lastActivity"] as const) {
    for (const dir of ["ASC", "DESC"] as const) {
      it(`${orderBy} ${dir}: visits every conversation exactly once, in (ts, id) order`, async () => {
        const got = await listAll(sim, { orderBy, orderDirection: dir, limit: 30 });
        expect(ids(got)).toEqual(ids(sorted(all, orderBy, dir)));
        expect(new Set(ids(got)).size).toBe(all.length);
      });
    }
  }

  it("defaults to lastActivity DESC with 10 per page", async () => {
    const got = await page(sim, {});
    expect(ids(got)).toEqual(ids(sorted(all, "lastActivity", "DESC")).slice(0, 10));
  });

  it("answers every object in the documented shape", async () => {
    const [c] = await page(sim, { limit: 1 });
    expect(Object.keys(c ?? {}).sort()).toEqual(
      [
        "createdAt",
        "custom",
        "id",
        "lastMessage",
        "participants",
        "photoUrl",
        "subject",
        "topicId",
        "welcomeMessages",
      ].sort(),
    );
  });

  it("rejects a startingAfter that never existed with 400", async () => {
    const res = await call(sim, `conversations${qs({ startingAfter: "no_such_conversation" })}`);
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ errorCode: "INVALID_REQUEST" });
  });
});

describe("offsetTs", () => {
  it("has heavy ties to test against", () => {
    expect(burstCreatedAt().count).toBeGreaterThanOrEqual(100);
  });

  for (const mode of ["exclusive", "inclusive"] as const) {
    for (const dir of ["DESC", "ASC"] as const) {
      it(`${mode}, createdAt ${dir}: exact boundary on a tied millisecond`, async () => {
        sim.setOptions({ offsetTsMode: mode });
        const { ts } = burstCreatedAt();
        const keep = (c: Conversation) =>
          dir === "DESC"
            ? mode === "inclusive"
              ? c.createdAt <= ts
              : c.createdAt < ts
            : mode === "inclusive"
              ? c.createdAt >= ts
              : c.createdAt > ts;
        const expected = sorted(all, "createdAt", dir).filter(keep);
        const got = await listAll(sim, {
          orderBy: "createdAt",
          orderDirection: dir,
          offsetTs: ts,
          limit: 30,
        });
        expect(ids(got)).toEqual(ids(expected));
        if (mode === "inclusive") expect(got[0]?.createdAt).toBe(ts);
        else expect(got.some((c) => c.createdAt === ts)).toBe(false);
      });
    }
  }

  it("works on lastActivity too (exclusive)", async () => {
    sim.setOptions({ offsetTsMode: "exclusive" });
    const mid = lastActivityOf(sorted(all, "lastActivity", "DESC")[200] as Conversation);
    const got = await page(sim, { offsetTs: mid, limit: 30 });
    expect(ids(got)).toEqual(
      ids(sorted(all, "lastActivity", "DESC").filter((c) => lastActivityOf(c) < mid)).slice(0, 30),
    );
  });

  it("combines with startingAfter: the more restrictive bound wins", async () => {
    const desc = sorted(all, "createdAt", "DESC");
    const cursor = desc[100] as Conversation;
    const later = await page(sim, {
      orderBy: "createdAt",
      startingAfter: cursor.id,
      offsetTs: cursor.createdAt + 1_000_000,
    });
    expect(ids(later)).toEqual(ids(desc.slice(101, 111)));
    const older = desc[400] as Conversation;
    const got = await page(sim, {
      orderBy: "createdAt",
      startingAfter: cursor.id,
      offsetTs: older.createdAt,
    });
    expect(ids(got)).toEqual(ids(desc.filter((c) => c.createdAt < older.createdAt).slice(0, 10)));
  });
});

describe("lastMessageBefore / lastMessageAfter", () => {
  it("filter strictly on lastMessage.createdAt and never match conversations without messages", async () => {
    const withMsg = all.filter((c) => c.lastMessage);
    expect(withMsg.length).toBeLessThan(all.length); // some conversations have no message
    const times = withMsg.map((c) => c.lastMessage?.createdAt as number).sort((a, b) => a - b);
    const after = times[Math.floor(times.length / 3)] as number;
    const before = times[Math.floor((2 * times.length) / 3)] as number;
    const expected = sorted(all, "lastActivity", "DESC").filter((c) => {
      const t = c.lastMessage?.createdAt;
      return t !== undefined && t > after && t < before;
    });
    const got = await listAll(sim, { lastMessageAfter: after, lastMessageBefore: before, limit: 30 });
    expect(ids(got)).toEqual(ids(expected));
    const onlyAfter = await listAll(sim, { lastMessageAfter: 0, limit: 30 });
    expect(onlyAfter.length).toBe(withMsg.length);
  });
});

describe("filter", () => {
  const cases: Array<[string, object, (c: Conversation) => boolean]> = [
    ["==", { custom: { category: ["==", "shoes"] } }, (c) => c.custom.category === "shoes"],
    ["!=", { custom: { category: ["!=", "shoes"] } }, (c) => c.custom.category !== "shoes"],
    [
      "oneOf",
      { custom: { category: ["oneOf", ["bags", "billing"]] } },
      (c) => ["bags", "billing"].includes(c.custom.category ?? ""),
    ],
    [
      "!oneOf",
      { custom: { category: ["!oneOf", ["bags", "billing"]] } },
      (c) => !["bags", "billing"].includes(c.custom.category ?? "-"),
    ],
    ["exists", { custom: { orderId: "exists" } }, (c) => c.custom.orderId !== undefined],
    ["!exists", { custom: { orderId: "!exists" } }, (c) => c.custom.orderId === undefined],
    [
      "two fields",
      { custom: { category: ["==", "support"], priority: ["==", "high"] } },
      (c) => c.custom.category === "support" && c.custom.priority === "high",
    ],
  ];
  for (const [name, filter, pred] of cases) {
    it(`custom ${name}`, async () => {
      const expected = sorted(all, "lastActivity", "DESC").filter(pred);
      expect(expected.length).toBeGreaterThan(0);
      const got = await listAll(sim, { filter, limit: 30 });
      expect(ids(got)).toEqual(ids(expected));
    });
  }

  it("400s on bad filter JSON, unknown operators or fields, and user-only filters on the app listing", async () => {
    for (const filter of [
      "{not json",
      '{"custom":{"a":["~=","x"]}}',
      '{"custom":{"a":["oneOf","x"]}}',
      '{"nope":1}',
      '{"access":["==","Read"]}',
      '{"hasUnreadMessages":true}',
    ]) {
      const res = await call(sim, `conversations?filter=${encodeURIComponent(filter)}`);
      expect(res.status, filter).toBe(400);
      expect(res.body).toMatchObject({ errorCode: "INVALID_REQUEST" });
    }
  });
});

describe("users/{userId}/conversations", () => {
  const userOf = () =>
    Object.keys(
      (all.find((c) => Object.keys(c.participants).length >= 3) as Conversation).participants,
    )[1] as string;

  it("lists exactly the user's conversations, in order, with every cursor", async () => {
    const user = userOf();
    const expected = sorted(all, "createdAt", "ASC").filter((c) => c.participants[user]);
    const got = await listAll(
      sim,
      { orderBy: "createdAt", orderDirection: "ASC", limit: 2 },
      `users/${encodeURIComponent(user)}/conversations`,
    );
    expect(ids(got)).toEqual(ids(expected));
  });

  it("supports access and hasUnreadMessages filters", async () => {
    const user = userOf();
    const mine = sorted(all, "lastActivity", "DESC").filter((c) => c.participants[user]);
    const base = `users/${user}/conversations`;
    const rw = await listAll(sim, { filter: { access: ["==", "ReadWrite"] } }, base);
    expect(ids(rw)).toEqual(ids(mine.filter((c) => c.participants[user]?.access === "ReadWrite")));
    const unread = (c: Conversation) =>
      c.lastMessage !== null && c.lastMessage.senderId !== user && !c.lastMessage.readBy.includes(user);
    const u = await listAll(sim, { filter: { hasUnreadMessages: true } }, base);
    expect(ids(u)).toEqual(ids(mine.filter(unread)));
    const r = await listAll(sim, { filter: { hasUnreadMessages: false } }, base);
    expect(ids(r)).toEqual(ids(mine.filter((c) => !unread(c))));
  });

  it("404s for a user in no conversation (2024-01-01+), empty list before", async () => {
    const res = await call(sim, "users/nobody_at_all/conversations");
    expect(res.status).toBe(404);
    expect(res.body).toMatchObject({ errorCode: "NOT_FOUND" });
    const old = await call<Page>(sim, "users/nobody_at_all/conversations", {
      headers: { "TalkJS-REST-Version": "2023-06-01" },
    });
    expect(old.status).toBe(200);
    expect(old.body).toEqual({ data: [] });
  });
});

describe("limits, invalid parameters and REST versions", () => {
  it("rejects or clamps a too-large limit", async () => {
    sim.setOptions({ limitMode: "reject" });
    expect((await call(sim, "conversations?limit=31")).status).toBe(400);
    expect((await call(sim, "conversations?limit=30")).status).toBe(200);
    sim.setOptions({ limitMode: "clamp" });
    const res = await call<Page>(sim, "conversations?limit=100");
    expect(res.status).toBe(200);
    expect(res.body.data).toHaveLength(30);
    sim.setOptions({ limitMode: "reject" });
  });

  it("400s with a JSON error body on invalid parameters", async () => {
    for (const q of [
      "limit=0",
      "limit=abc",
      "limit=-1",
      "orderBy=name",
      "orderDirection=up",
      "offsetTs=yesterday",
      "lastMessageBefore=1.5",
      "lastMessageAfter=",
    ]) {
      const res = await call<{ errorCode: string; reason: string }>(sim, `conversations?${q}`);
      expect(res.status, q).toBe(400);
      expect(res.body.errorCode).toBe("INVALID_REQUEST");
      expect(res.body.reason).toEqual(expect.any(String));
    }
  });

  it("before 2021-02-09 answers createdAt DESC whatever orderBy/orderDirection/offsetTs say", async () => {
    const res = await call<Page>(
      sim,
      `conversations${qs({ orderBy: "lastActivity", orderDirection: "ASC", offsetTs: 1, limit: 30 })}`,
      {
        headers: { "TalkJS-REST-Version": "2020-05-01" },
      },
    );
    expect(res.status).toBe(200);
    expect(ids(res.body.data)).toEqual(ids(sorted(all, "createdAt", "DESC")).slice(0, 30));
    const current = await call<Page>(sim, `conversations${qs({ orderDirection: "ASC", limit: 5 })}`, {
      headers: { "TalkJS-REST-Version": "2021-02-09" },
    });
    expect(ids(current.body.data)).toEqual(ids(sorted(all, "lastActivity", "ASC")).slice(0, 5));
  });
});
