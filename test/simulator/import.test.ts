// The simulator's restore side: several apps at once (each its own key), the import endpoint in
// both payload shapes with TalkJS's non-idempotency, the participant endpoint, and the
// "applied, then the answer is lost" faults.
import { afterEach, describe, expect, it } from "vitest";
import { parseSimulatorArgs, startSimulator } from "../../src/simulator/index.ts";
import type { Simulator, SimulatorOptions } from "../../src/simulator/types.ts";
import { call } from "./helpers.ts";

const NOW = Date.UTC(2026, 5, 1);
const open: Simulator[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((s) => s.close()));
});
async function sim(options: SimulatorOptions = {}): Promise<Simulator> {
  const s = await startSimulator({ conversations: 3, apps: ["demo", "copy"], now: () => NOW, ...options });
  open.push(s);
  return s;
}
/** The same simulator, seen as app `appId` with its own key. */
const as = (s: Simulator, appId: string): Simulator =>
  ({ url: s.url, appId, secretKey: `sk_test_${appId}` }) as Simulator;

const documented = (i: number, extra: Record<string, unknown> = {}) => ({
  text: `hello ${i}`,
  sender: "u1",
  timestamp: NOW - 1000 + i,
  readBy: ["u2"],
  type: "UserMessage",
  ...extra,
});

describe("several apps", () => {
  it("serves each app with its own key; the extra app starts empty", async () => {
    const s = await sim();
    expect(s.appIds).toEqual(["demo", "copy"]);
    expect((await call<{ data: unknown[] }>(s, "conversations")).body.data).toHaveLength(3);
    const copy = as(s, "copy");
    expect((await call<{ data: unknown[] }>(copy, "conversations")).body.data).toHaveLength(0);
    // demo's key does not open copy
    expect((await call(copy, "conversations", { token: s.secretKey })).status).toBe(401);
  });

  it("keeps the single-app default when no apps are given", async () => {
    const s = await startSimulator({ conversations: 1 });
    open.push(s);
    expect(s.appIds).toEqual(["demo"]);
    expect(s.secretKey).toBe("sk_test_demo");
  });

  it("CLI: --apps, --import-shape, --import-batch", () => {
    const o = parseSimulatorArgs([
      "--apps",
      "demo,demo-copy",
      "--import-shape",
      "script",
      "--import-batch",
      "50",
    ]);
    expect(o).toMatchObject({
      apps: ["demo", "demo-copy"],
      appId: "demo",
      importShape: "script",
      importMaxBatch: 50,
    });
    expect(() => parseSimulatorArgs(["--apps", "a,a"])).toThrow(/twice/);
    expect(() => parseSimulatorArgs(["--import-shape", "other"])).toThrow(/documented or script/);
  });
});

describe("import endpoint", () => {
  it("documented shape: original timestamps, new ids, origin import; a replay duplicates", async () => {
    const s = await sim();
    const copy = as(s, "copy");
    expect(
      (await call(copy, "conversations/c1", { method: "PUT", body: '{"participants":["u1","u2"]}' })).status,
    ).toBe(200);
    const batch = JSON.stringify([documented(0), documented(1, { custom: { k: "v" } })]);
    const path = "import/conversations/c1/messages";
    expect((await call(copy, path, { method: "POST", body: batch })).status).toBe(200);
    expect((await call(copy, path, { method: "POST", body: batch })).status).toBe(200);
    const msgs = s.appStore("copy")?.messages("c1") ?? [];
    expect(msgs).toHaveLength(4); // not idempotent
    expect(new Set(msgs.map((m) => m.id)).size).toBe(4);
    expect(msgs.every((m) => m.origin === "import" && m.senderId === "u1")).toBe(true);
    expect(msgs.map((m) => m.createdAt).sort()).toEqual([NOW - 1000, NOW - 1000, NOW - 999, NOW - 999]);
    expect(msgs.find((m) => m.custom.k === "v")?.readBy).toEqual(["u2"]);
    // the source app did not change
    expect(s.appStore("demo")?.has("c1")).toBe(false);
  });

  it("refuses system messages, too large batches, the other shape and unknown conversations, changing nothing", async () => {
    const s = await sim({ importMaxBatch: 3 });
    const copy = as(s, "copy");
    await call(copy, "conversations/c1", { method: "PUT", body: '{"participants":["u1"]}' });
    const path = "import/conversations/c1/messages";
    const post = (body: unknown, p = path) => call(copy, p, { method: "POST", body: JSON.stringify(body) });
    expect((await post([documented(0), documented(1, { type: "SystemMessage" })])).status).toBe(400);
    expect((await post([0, 1, 2, 3].map((i) => documented(i)))).status).toBe(400);
    expect(
      (await post([{ sender: "u1", createdAt: NOW, content: [{ type: "text", children: ["x"] }] }])).status,
    ).toBe(400);
    expect((await post([documented(0)], "import/conversations/nope/messages")).status).toBe(404);
    expect(s.appStore("copy")?.messages("c1")).toEqual([]);
  });

  it("script shape: createdAt and content blocks, batches of 100", async () => {
    const s = await sim({ importShape: "script" });
    const copy = as(s, "copy");
    await call(copy, "conversations/c1", { method: "PUT", body: '{"participants":["u1"]}' });
    const items = Array.from({ length: 100 }, (_, i) => ({
      sender: "u1",
      createdAt: NOW + i,
      content: [{ type: "text", children: [`m${i}`] }],
    }));
    expect(
      (await call(copy, "import/conversations/c1/messages", { method: "POST", body: JSON.stringify(items) }))
        .status,
    ).toBe(200);
    const msgs = s.appStore("copy")?.messages("c1") ?? [];
    expect(msgs).toHaveLength(100);
    expect(msgs.at(-1)?.text).toBe("m0");
    expect(
      (
        await call(copy, "import/conversations/c1/messages", {
          method: "POST",
          body: JSON.stringify([documented(0)]),
        })
      ).status,
    ).toBe(400);
  });

  it("participant endpoint sets access and notify", async () => {
    const s = await sim();
    const copy = as(s, "copy");
    await call(copy, "conversations/c1", { method: "PUT", body: '{"participants":["u1"]}' });
    const put = await call(copy, "conversations/c1/participants/u2", {
      method: "PUT",
      body: '{"access":"Read","notify":false}',
    });
    expect(put.status).toBe(200);
    expect(s.appStore("copy")?.conversation("c1")?.participants).toEqual({
      u1: { access: "ReadWrite", notify: true },
      u2: { access: "Read", notify: false },
    });
    expect((await call(copy, "conversations/c1/participants/u1", { method: "DELETE" })).status).toBe(200);
    expect(Object.keys(s.appStore("copy")?.conversation("c1")?.participants ?? {})).toEqual(["u2"]);
  });
});

describe("apply-then faults", () => {
  it("apply-then-reset: the batch is imported, the client sees a reset", async () => {
    const s = await sim();
    const copy = as(s, "copy");
    await call(copy, "conversations/c1", { method: "PUT", body: '{"participants":["u1"]}' });
    s.addFault({
      fault: { kind: "apply-then-reset" },
      match: { method: "POST", pathPrefix: "/v1/copy/import/" },
      nth: 1,
    });
    await expect(
      call(copy, "import/conversations/c1/messages", {
        method: "POST",
        body: JSON.stringify([documented(0)]),
      }),
    ).rejects.toThrow();
    expect(s.appStore("copy")?.messages("c1")).toHaveLength(1);
    expect(s.requestLog.at(-1)?.status).toBe(0);
  });

  it("apply-then-timeout: applied at once, answered only after the delay", async () => {
    const s = await sim();
    const copy = as(s, "copy");
    await call(copy, "conversations/c1", { method: "PUT", body: '{"participants":["u1"]}' });
    s.addFault({
      fault: { kind: "apply-then-timeout", delayMs: 300 },
      match: { method: "POST", pathPrefix: "/v1/copy/import/" },
      nth: 1,
    });
    const answer = call(copy, "import/conversations/c1/messages", {
      method: "POST",
      body: JSON.stringify([documented(0)]),
    });
    await expect.poll(() => s.appStore("copy")?.messages("c1")?.length).toBe(1);
    expect((await answer).status).toBe(200);
  });
});
