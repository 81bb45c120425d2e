// The simulator's users: the endpoints as documented, generation consistent with participants and
// senders from its own random stream (seeded conversations and messages unchanged), programmatic
// create/edit/anonymise/remove, and faults on the users endpoints.
import { createHash } from "node:crypto";
import { afterEach, describe, expect, it } from "vitest";
import { startSimulator } from "../../src/simulator/index.ts";
import type { Simulator } from "../../src/simulator/types.ts";
import type { User } from "../../src/talkjs/types.ts";
import { call } from "./helpers.ts";

const NOW = Date.UTC(2026, 5, 1);
type UserPage = { data: User[] };

const open: Simulator[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((s) => s.close()));
});
async function sim(conversations: number, seed = 42): Promise<Simulator> {
  const s = await startSimulator({ conversations, seed, now: () => NOW });
  open.push(s);
  return s;
}

async function listAllUsers(s: Simulator, limit: number): Promise<{ users: User[]; requests: number }> {
  const users: User[] = [];
  let requests = 0;
  let after: string | undefined;
  for (;;) {
    requests++;
    const q = `users?limit=${limit}${after === undefined ? "" : `&startingAfter=${encodeURIComponent(after)}`}`;
    const r = await call<UserPage>(s, q);
    expect(r.status).toBe(200);
    if (r.body.data.length === 0) return { users, requests };
    users.push(...r.body.data);
    after = r.body.data.at(-1)?.id;
  }
}

describe("simulator users", () => {
  it("leaves every seeded conversation and message exactly as before users existed", async () => {
    // Fingerprint of seed 42 / 600 conversations taken before the users generator was added: user
    // generation has its own random stream, so the app (and the README's demo figures) is unchanged.
    const s = await sim(600);
    const h = createHash("sha256");
    for (const c of s.allConversations()) {
      h.update(JSON.stringify(c));
      h.update(JSON.stringify(s.messages(c.id)));
    }
    expect(h.digest("hex")).toBe("ff04811d261a3af6a03d9999dabeb372bf337a4719b4cb057490b85550ec5104");
  });

  it("generates a user for every participant and sender, with realistic and nasty fields", async () => {
    const s = await sim(600);
    const users = s.allUsers();
    const ids = new Set(users.map((u) => u.id));
    for (const c of s.allConversations()) {
      for (const p of Object.keys(c.participants)) expect(ids.has(p)).toBe(true);
      for (const m of s.messages(c.id)) if (m.senderId) expect(ids.has(m.senderId)).toBe(true);
    }
    expect(users.some((u) => u.name && /[^ -\u024f]/.test(u.name))).toBe(true); // unicode names
    expect(users.some((u) => u.email === null)).toBe(true);
    expect(users.some((u) => (u.email?.length ?? 0) >= 2)).toBe(true);
    expect(users.some((u) => u.pushTokens && Object.keys(u.pushTokens).length > 0)).toBe(true);
    const firstConversation = Math.min(...s.allConversations().map((c) => c.createdAt));
    for (const u of users) expect(u.createdAt).toBeLessThan(firstConversation);
    // deterministic
    const again = await sim(600);
    expect(again.allUsers()).toEqual(users);
  });

  it("lists every user once in id order, only an empty page ending it; GET one, 404 for none", async () => {
    const s = await sim(300);
    s.putUser("Émile/ü?#", { name: "Émile" });
    s.putUser("aaa", { name: "first" });
    const { users, requests } = await listAllUsers(s, 100);
    expect(users.map((u) => u.id)).toEqual(s.allUsers().map((u) => u.id));
    expect(users.map((u) => u.id)).toEqual([...users.map((u) => u.id)].sort());
    expect(requests).toBe(Math.ceil(users.length / 100) + 1); // the pages, then the empty one
    const one = await call<User>(s, `users/${encodeURIComponent("Émile/ü?#")}`);
    expect(one.status).toBe(200);
    expect(one.body).toMatchObject({ id: "Émile/ü?#", name: "Émile", email: null, custom: {} });
    expect((await call(s, "users/nobody")).status).toBe(404);
    expect((await call(s, "users?limit=0")).status).toBe(400);
    expect((await call(s, "users?limit=101")).status).toBe(400);
    // a removed user's id still anchors the listing
    const anchor = users[10]?.id as string;
    s.removeUser(anchor);
    const after = await call<UserPage>(s, `users?limit=2&startingAfter=${anchor}`);
    expect(after.body.data.map((u) => u.id)).toEqual([users[11]?.id, users[12]?.id]);
    expect((await call(s, `users/${anchor}`)).status).toBe(404);
  });

  it("PUT creates or merges (one or a batch, all-or-nothing); anonymise edits the user and their messages", async () => {
    const s = await sim(60);
    expect(
      (await call(s, "users/new_1", { method: "PUT", body: JSON.stringify({ name: "N", email: "n@x.org" }) }))
        .status,
    ).toBe(200);
    expect(s.user("new_1")).toMatchObject({ name: "N", email: ["n@x.org"], createdAt: NOW });
    await call(s, "users/new_1", {
      method: "PUT",
      body: JSON.stringify({ custom: { a: "1" }, role: "agent" }),
    });
    expect(s.user("new_1")).toMatchObject({ name: "N", custom: { a: "1" }, role: "agent" });
    const bad = await call(s, "users", {
      method: "PUT",
      body: JSON.stringify({ ok_1: { name: "x" }, bad: { nope: 1 } }),
    });
    expect(bad.status).toBe(400);
    expect(s.user("ok_1")).toBeUndefined();
    await call(s, "users", {
      method: "PUT",
      body: JSON.stringify({ ok_1: { name: "x" }, ok_2: { phone: ["+1"] } }),
    });
    expect(s.user("ok_2")?.phone).toEqual(["+1"]);

    const conv = s.allConversations().find((c) => c.lastMessage?.senderId);
    const sender = conv?.lastMessage?.senderId as string;
    const sent = s
      .allConversations()
      .flatMap((c) => s.messages(c.id))
      .filter((m) => m.senderId === sender);
    expect(s.anonymiseUser(sender)).toBe(sent.length);
    expect(s.user(sender)).toMatchObject({ name: "[DELETED]", email: null, phone: null, custom: {} });
    for (const c of s.allConversations())
      for (const m of s.messages(c.id)) if (m.senderId === sender) expect(m.text).toBe("[DELETED]");
    // a participant or sender added later gets a user
    s.createConversation({ id: "c_new", participants: ["brand_new"] });
    s.addMessage("c_new", { senderId: "sender_new", text: "hi" });
    expect(s.user("brand_new")?.id).toBe("brand_new");
    expect(s.user("sender_new")?.id).toBe("sender_new");
  });

  it("takes the same faults as the conversations endpoints", async () => {
    const s = await sim(100);
    s.addFault({ fault: { kind: "status", status: 503 }, match: { pathRegex: /\/users$/ }, nth: 1 });
    s.addFault({ fault: { kind: "truncate", keep: 3 }, match: { pathRegex: /\/users$/ }, nth: 2 });
    expect((await call(s, "users?limit=10")).status).toBe(503);
    expect((await call<UserPage>(s, "users?limit=10")).body.data).toHaveLength(3);
    expect((await call<UserPage>(s, "users?limit=10&startingAfter=user_00003")).body.data).toHaveLength(0);
  });
});
