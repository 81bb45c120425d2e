// Single-conversation endpoints, messages, mark-as-read, auth and routing errors.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Simulator } from "../../src/simulator/index.ts";
import { startSimulator } from "../../src/simulator/index.ts";
import type { Conversation } from "../../src/talkjs/types.ts";
import { appJwt, call, type MessagePage, signJwt } from "./helpers.ts";

let sim: Simulator;
const enc = encodeURIComponent;

beforeAll(async () => {
  sim = await startSimulator({ conversations: 300, seed: 3, appId: "app_test", secretKey: "sk_test_secret" });
});
afterAll(() => sim.close());

describe("auth", () => {
  it("accepts the raw secret key and a valid app JWT", async () => {
    expect((await call(sim, "conversations")).status).toBe(200);
    expect((await call(sim, "conversations", { token: appJwt(sim) })).status).toBe(200);
  });

  it("401s without a token, with a wrong key, a bad signature, a wrong-app, expired or non-app JWT", async () => {
    const now = Math.floor(Date.now() / 1000);
    const bad: Array<[string, string | null]> = [
      ["missing", null],
      ["wrong key", "sk_test_other"],
      ["bad signature", signJwt({ tokenType: "app", iss: sim.appId, exp: now + 30 }, "sk_test_other")],
      ["wrong app", appJwt(sim, { iss: "other_app" })],
      ["expired", appJwt(sim, { exp: now - 1 })],
      ["not an app token", appJwt(sim, { tokenType: "user" })],
      ["no exp", appJwt(sim, { exp: undefined })],
      [
        "alg none",
        signJwt({ tokenType: "app", iss: sim.appId, exp: now + 30 }, sim.secretKey, { alg: "none" }),
      ],
      ["garbage", "a.b.c"],
    ];
    for (const [name, token] of bad) {
      const res = await call(sim, "conversations", { token });
      expect(res.status, name).toBe(401);
      expect(res.body, name).toMatchObject({ errorCode: "UNAUTHORIZED" });
    }
  });

  it("404s for an unknown app, even with a valid key", async () => {
    const res = await fetch(`${sim.url}/v1/other_app/conversations`, {
      headers: { authorization: `Bearer ${sim.secretKey}` },
    });
    expect(res.status).toBe(404);
    expect(await res.json()).toMatchObject({ errorCode: "NOT_FOUND" });
  });
});

describe("GET/PUT/DELETE conversations/{id}", () => {
  it("GET answers the conversation, or 404 with a JSON error", async () => {
    const c = sim.allConversations()[0] as Conversation;
    const res = await call<Conversation>(sim, `conversations/${enc(c.id)}`);
    expect(res.status).toBe(200);
    expect(res.body).toEqual(c);
    const missing = await call(sim, "conversations/does_not_exist");
    expect(missing.status).toBe(404);
    expect(missing.body).toMatchObject({ errorCode: "NOT_FOUND" });
  });

  it("routes ids with /, space, ?, #, %, and non-ASCII characters", async () => {
    // (an id of exactly "." or ".." cannot be addressed at all: URL parsers drop dot segments, even encoded)
    const nasty = ["a/b", "with space", "q?x=1&y", "hash#tag", "100%", "日本語/💬", "a/../b", "é", "+plus"];
    for (const id of nasty) {
      expect(
        (
          await call(sim, `conversations/${enc(id)}`, {
            method: "PUT",
            body: JSON.stringify({ subject: id }),
          })
        ).status,
      ).toBe(200);
      const res = await call<Conversation>(sim, `conversations/${enc(id)}`);
      expect(res.status, id).toBe(200);
      expect(res.body.id).toBe(id);
      expect(res.body.subject).toBe(id);
    }
    // the generator makes some nasty ids too
    const generated = sim.allConversations().filter((c) => !c.id.startsWith("conv_"));
    expect(generated.length).toBeGreaterThan(0);
    for (const c of generated) expect((await call(sim, `conversations/${enc(c.id)}`)).status).toBe(200);
  });

  it("PUT creates, then merges like PATCH: participants only added, custom merged key by key", async () => {
    const id = "put_merge";
    const put = (body: object) =>
      call(sim, `conversations/${id}`, { method: "PUT", body: JSON.stringify(body) });
    expect(
      (await put({ participants: ["u1", "u2"], subject: "Hello", custom: { a: "1", b: "2" } })).status,
    ).toBe(200);
    const created = sim.conversation(id) as Conversation;
    expect(created).toMatchObject({
      subject: "Hello",
      custom: { a: "1", b: "2" },
      photoUrl: null,
      lastMessage: null,
      topicId: null,
    });
    expect(created.participants).toEqual({
      u1: { access: "ReadWrite", notify: true },
      u2: { access: "ReadWrite", notify: true },
    });

    expect((await put({ participants: ["u3"], custom: { b: "two", c: "3" } })).status).toBe(200);
    let c = sim.conversation(id) as Conversation;
    expect(Object.keys(c.participants).sort()).toEqual(["u1", "u2", "u3"]);
    expect(c.subject).toBe("Hello"); // absent field untouched
    expect(c.custom).toEqual({ a: "1", b: "two", c: "3" });
    expect(c.createdAt).toBe(created.createdAt);

    await put({ subject: null, photoUrl: "https://x/y.png", welcomeMessages: ["hi"], custom: { a: null } });
    c = sim.conversation(id) as Conversation;
    expect(c).toMatchObject({
      subject: null,
      photoUrl: "https://x/y.png",
      welcomeMessages: ["hi"],
      custom: { b: "two", c: "3" },
    });
    await put({ custom: null });
    expect(sim.conversation(id)?.custom).toEqual({});
  });

  it("PUT 400s on a malformed body", async () => {
    for (const body of [
      "{",
      "[]",
      '{"participants":"u1"}',
      '{"subject":5}',
      '{"custom":{"a":1}}',
      '{"unknown":1}',
    ]) {
      const res = await call(sim, "conversations/put_bad", { method: "PUT", body });
      expect(res.status, body).toBe(400);
    }
    expect(sim.conversation("put_bad")).toBeUndefined();
  });

  it("DELETE answers {} and the conversation and its messages are gone", async () => {
    const c = sim.allConversations().find((x) => x.lastMessage) as Conversation;
    const res = await call(sim, `conversations/${enc(c.id)}`, { method: "DELETE" });
    expect(res).toMatchObject({ status: 200, body: {} });
    expect((await call(sim, `conversations/${enc(c.id)}`)).status).toBe(404);
    expect((await call(sim, `conversations/${enc(c.id)}/messages`)).status).toBe(404);
    expect((await call(sim, `conversations/${enc(c.id)}`, { method: "DELETE" })).status).toBe(404);
    expect(sim.deletedIds()).toContain(c.id);
  });

  it("answers 404 for unknown routes and 405 for unsupported methods", async () => {
    expect((await call(sim, "nope")).status).toBe(404);
    expect((await call(sim, "conversations", { method: "POST", body: "{}" })).status).toBe(405);
  });
});

describe("messages", () => {
  it("lists newest first, pages with startingAfter, and agrees with lastMessage", async () => {
    const c = sim
      .allConversations()
      .find((x) => x.lastMessage && sim.messages(x.id).length > 12) as Conversation;
    const expected = sim.messages(c.id);
    const got: string[] = [];
    let after: string | undefined;
    for (;;) {
      const res = await call<MessagePage>(
        sim,
        `conversations/${enc(c.id)}/messages?limit=5${after ? `&startingAfter=${after}` : ""}`,
      );
      expect(res.status).toBe(200);
      if (res.body.data.length === 0) break;
      got.push(...res.body.data.map((m) => m.id));
      after = res.body.data.at(-1)?.id;
    }
    expect(got).toEqual(expected.map((m) => m.id));
    const times = expected.map((m) => m.createdAt);
    expect(times).toEqual([...times].sort((a, b) => b - a));
    expect(expected[0]).toEqual(c.lastMessage);
    const first = await call<MessagePage>(sim, `conversations/${enc(c.id)}/messages`);
    expect(first.body.data).toHaveLength(10);
    expect(first.body.data[0]).toEqual(c.lastMessage);
  });

  it("limits messages to 1..100 and 400s on an unknown startingAfter", async () => {
    const c = sim.allConversations()[1] as Conversation;
    expect((await call(sim, `conversations/${enc(c.id)}/messages?limit=101`)).status).toBe(400);
    expect((await call(sim, `conversations/${enc(c.id)}/messages?limit=100`)).status).toBe(200);
    expect((await call(sim, `conversations/${enc(c.id)}/messages?startingAfter=nope`)).status).toBe(400);
  });

  it("POST adds messages, which become lastMessage and move the conversation to the front", async () => {
    const oldest = sim
      .allConversations()
      .sort(
        (a, b) => (a.lastMessage?.createdAt ?? a.createdAt) - (b.lastMessage?.createdAt ?? b.createdAt),
      )[0] as Conversation;
    const body = JSON.stringify([
      { text: "first", sender: "u_poster", type: "UserMessage" },
      { text: "system says hi", type: "SystemMessage", custom: { k: "v" } },
    ]);
    const res = await call(sim, `conversations/${enc(oldest.id)}/messages`, { method: "POST", body });
    expect(res).toMatchObject({ status: 200, body: {} });
    const after = sim.conversation(oldest.id) as Conversation;
    expect(after.lastMessage).toMatchObject({
      text: "system says hi",
      type: "SystemMessage",
      senderId: null,
      custom: { k: "v" },
    });
    expect(sim.messages(oldest.id)[1]).toMatchObject({
      text: "first",
      senderId: "u_poster",
      type: "UserMessage",
    });
    const front = await call<{ data: Conversation[] }>(sim, "conversations?limit=1");
    expect(front.body.data[0]?.id).toBe(oldest.id);
    for (const bad of [
      "{}",
      "[]",
      '[{"text":"x","type":"UserMessage"}]',
      '[{"text":1,"type":"SystemMessage"}]',
    ]) {
      expect(
        (await call(sim, `conversations/${enc(oldest.id)}/messages`, { method: "POST", body: bad })).status,
        bad,
      ).toBe(400);
    }
  });

  it("mark-as-read requires an empty payload and marks every message read", async () => {
    const c = sim.allConversations().find((x) => x.lastMessage?.senderId) as Conversation;
    const user = Object.keys(c.participants).find((u) => u !== c.lastMessage?.senderId) as string;
    const path = `conversations/${enc(c.id)}/readBy/${enc(user)}`;
    expect((await call(sim, path, { method: "POST", body: "{}" })).status).toBe(400);
    const res = await call(sim, path, { method: "POST" });
    expect(res).toMatchObject({ status: 200, body: {} });
    for (const m of sim.messages(c.id)) if (m.senderId !== user) expect(m.readBy).toContain(user);
    expect((await call(sim, `conversations/missing/readBy/${user}`, { method: "POST" })).status).toBe(404);
  });
});
