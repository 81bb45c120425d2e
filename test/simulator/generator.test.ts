// The seeded generator (determinism, realism, ties, scale) and the standalone CLI entry.
import { describe, expect, it } from "vitest";
import { parseSimulatorArgs } from "../../src/simulator/cli.ts";
import { runSimulatorCli, type Simulator, startSimulator } from "../../src/simulator/index.ts";
import { type Conversation, lastActivityOf } from "../../src/talkjs/types.ts";
import { call, type Page } from "./helpers.ts";

const NOW = Date.UTC(2026, 5, 1);

function maxShared(values: number[]): number {
  const counts = new Map<number, number>();
  for (const v of values) counts.set(v, (counts.get(v) ?? 0) + 1);
  return Math.max(...counts.values());
}

describe("generator", () => {
  it("is deterministic: same seed and clock give the same app, another seed another", async () => {
    const a = await startSimulator({ conversations: 500, seed: 9, now: () => NOW });
    const b = await startSimulator({ conversations: 500, seed: 9, now: () => NOW });
    const c = await startSimulator({ conversations: 500, seed: 10, now: () => NOW });
    // Attachment URLs point at each simulator's own /files/, so they differ by port only.
    const own = (s: Simulator, v: unknown): unknown => JSON.parse(JSON.stringify(v).replaceAll(s.url, "SIM"));
    try {
      expect(own(b, b.allConversations())).toEqual(own(a, a.allConversations()));
      for (const conv of a.allConversations().slice(0, 50))
        expect(own(b, b.messages(conv.id))).toEqual(own(a, a.messages(conv.id)));
      const pa = await call<Page>(a, "conversations?limit=30");
      const pb = await call<Page>(b, "conversations?limit=30");
      expect(own(b, pb.body)).toEqual(own(a, pa.body));
      expect(c.allConversations()).not.toEqual(a.allConversations());
    } finally {
      await Promise.all([a.close(), b.close(), c.close()]);
    }
  });

  it("makes a realistic 10k app quickly, with heavy ties and nasty data", async () => {
    // CPU time, not wall time, so a loaded CI machine does not fail it.
    const before = process.cpuUsage();
    const sim = await startSimulator({ conversations: 10_000, seed: 42, now: () => NOW });
    const used = process.cpuUsage(before);
    expect((used.user + used.system) / 1000).toBeLessThan(1500);
    try {
      const all = sim.allConversations();
      expect(all).toHaveLength(10_000);
      expect(new Set(all.map((c) => c.id)).size).toBe(10_000);
      // bulk imports: hundreds of conversations in one millisecond
      expect(maxShared(all.map((c) => c.createdAt))).toBeGreaterThanOrEqual(100);
      // and ties among last messages
      expect(
        maxShared(all.filter((c) => c.lastMessage).map((c) => lastActivityOf(c))),
      ).toBeGreaterThanOrEqual(2);
      const noMsg = all.filter((c) => c.lastMessage === null).length / all.length;
      expect(noMsg).toBeGreaterThan(0.12);
      expect(noMsg).toBeLessThan(0.28);
      for (const c of all) {
        const n = Object.keys(c.participants).length;
        expect(n).toBeGreaterThanOrEqual(2);
        expect(n).toBeLessThanOrEqual(8);
        expect(c.createdAt).toBeLessThanOrEqual(NOW);
        expect(c.createdAt).toBeGreaterThan(NOW - 2 * 366 * 86_400_000);
        if (c.lastMessage) expect(c.lastMessage.createdAt).toBeGreaterThanOrEqual(c.createdAt);
      }
      const accesses = new Set(all.flatMap((c) => Object.values(c.participants).map((p) => p.access)));
      expect([...accesses].sort()).toEqual(["None", "Read", "ReadWrite"]);
      const subjects = all.map((c) => c.subject);
      expect(subjects).toContain(null);
      expect(subjects.some((s) => s && /[\u0590-\u05FF]/.test(s))).toBe(true); // Hebrew
      expect(subjects.some((s) => s && /[\u0600-\u06FF]/.test(s))).toBe(true); // Arabic
      expect(subjects.some((s) => s && /\p{Extended_Pictographic}/u.test(s))).toBe(true);
      expect(subjects.some((s) => s && s.length > 300)).toBe(true);
      expect(all.some((c) => c.photoUrl) && all.some((c) => c.welcomeMessages)).toBe(true);
      expect(all.some((c) => c.topicId === null) && all.some((c) => c.topicId !== null)).toBe(true);
      expect(all.some((c) => /[/ ?#%]|[^ -~]/.test(c.id))).toBe(true);
      expect(all.some((c) => c.id.startsWith("conv_"))).toBe(true);
      // lastMessage is the newest message of the lazily generated history
      for (const c of all.slice(0, 500)) {
        const msgs = sim.messages(c.id);
        expect(msgs[0] ?? null).toEqual(c.lastMessage);
        for (const m of msgs) expect(m.conversationId).toBe(c.id);
      }
      const lengths = all.slice(0, 2000).map((c) => sim.messages(c.id).length);
      expect(Math.max(...lengths)).toBeGreaterThan(50); // long tail
    } finally {
      await sim.close();
    }
  });

  it("keeps lastActivity ordering correct after messages arrive", async () => {
    const sim = await startSimulator({ conversations: 50, seed: 1, now: () => NOW });
    try {
      const last = sim
        .allConversations()
        .sort((a: Conversation, b: Conversation) => lastActivityOf(a) - lastActivityOf(b))[0];
      const m = sim.addMessage(last?.id as string, {
        senderId: "user_00003",
        text: "hi",
        createdAt: NOW + 1,
      });
      expect(sim.conversation(last?.id as string)?.lastMessage).toEqual(m);
      const first = await call<Page>(sim, "conversations?limit=1");
      expect(first.body.data[0]?.id).toBe(last?.id);
      const asc = await call<Page>(sim, "conversations?limit=1&orderBy=createdAt&orderDirection=ASC");
      expect(asc.body.data[0]?.id).toBe(sim.allConversations()[0]?.id); // allConversations is createdAt order here
    } finally {
      await sim.close();
    }
  });
});

describe("runSimulatorCli", () => {
  it("parses defaults and names the flag of a bad value", () => {
    expect(parseSimulatorArgs([])).toMatchObject({
      port: 8787,
      appId: "demo",
      secretKey: "sk_test_demo",
      conversations: 10_000,
      seed: 42,
      offsetTsMode: "exclusive",
      limitMode: "reject",
      latencyMs: 0,
    });
    expect(() => parseSimulatorArgs(["--port", "abc"])).toThrow(/--port/);
    expect(() => parseSimulatorArgs(["--conversations", "-5"])).toThrow(/--conversations/);
    expect(() => parseSimulatorArgs(["--offset-ts", "maybe"])).toThrow(/--offset-ts/);
    expect(() => parseSimulatorArgs(["--limit-mode", "drop"])).toThrow(/--limit-mode/);
    expect(() => parseSimulatorArgs(["--latency-ms", "1.5"])).toThrow(/--latency-ms/);
    expect(() => parseSimulatorArgs(["--bogus"])).toThrow(/bogus/);
    expect(parseSimulatorArgs([]).rateLimit).toBeUndefined();
    expect(parseSimulatorArgs(["--rate-limit", "9"]).rateLimit).toEqual({ perSecond: 9, burst: 600 });
    expect(parseSimulatorArgs(["--rate-limit", "9", "--rate-burst", "50"]).rateLimit).toEqual({
      perSecond: 9,
      burst: 50,
    });
    expect(() => parseSimulatorArgs(["--rate-limit", "0"])).toThrow(/--rate-limit/);
    expect(() => parseSimulatorArgs(["--rate-burst", "5"])).toThrow(/--rate-burst: needs --rate-limit/);
  });

  it("starts, prints one line with its URL, serves, and stops on abort", async () => {
    const lines: string[] = [];
    const ac = new AbortController();
    const done = runSimulatorCli(
      ["--port", "0", "--conversations", "40", "--app-id", "cli_app", "--offset-ts", "inclusive"],
      {
        signal: ac.signal,
        out: (l) => lines.push(l),
      },
    );
    while (lines.length === 0) await new Promise((r) => setTimeout(r, 5));
    expect(lines).toHaveLength(1);
    const m =
      /^TalkJS simulator listening on (http:\/\/127\.0\.0\.1:\d+) \(app cli_app, 40 conversations\)$/.exec(
        lines[0] as string,
      );
    expect(m).not.toBeNull();
    const res = await fetch(`${m?.[1]}/v1/cli_app/conversations?limit=30`, {
      headers: { authorization: "Bearer sk_test_demo" },
    });
    expect(res.status).toBe(200);
    expect(((await res.json()) as Page).data).toHaveLength(30);
    ac.abort();
    await done;
    await expect(fetch(`${m?.[1]}/v1/cli_app/conversations`)).rejects.toThrow();
  });
});
