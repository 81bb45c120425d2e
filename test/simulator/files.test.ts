// The simulator's files: generated attachments it serves itself (small, deterministic, their own
// random stream), added files, the file faults and expiring URLs — over real HTTP.
import { createHash } from "node:crypto";
import { afterEach, describe, expect, it } from "vitest";
import {
  generateMessages,
  generateMeta,
  generateSkeletons,
  MAX_GENERATED_FILE_BYTES,
  userPoolSize,
} from "../../src/simulator/generator.ts";
import { type Simulator, startSimulator } from "../../src/simulator/index.ts";
import { call, type MessagePage } from "./helpers.ts";

let sim: Simulator | undefined;
afterEach(async () => {
  await sim?.close();
  sim = undefined;
});

async function get(url: string, headers: Record<string, string> = {}) {
  const res = await fetch(url, { headers });
  return {
    status: res.status,
    type: res.headers.get("content-type"),
    bytes: Buffer.from(await res.arrayBuffer()),
  };
}

describe("simulator files", () => {
  it("keeps every other seeded value as it was before files were served", () => {
    // The hash of a generated app with attachments reduced to "has one", computed with the
    // generator before this change: the file's own stream moved nothing else.
    const now = Date.UTC(2026, 0, 1);
    const h = createHash("sha256");
    let files = 0;
    for (const s of generateSkeletons(400, 42, now)) {
      for (const m of generateMessages(42, s, generateMeta(42, s.index, userPoolSize(400)))) {
        if (m.attachment) {
          files++;
          expect(m.attachment.size).toBeLessThanOrEqual(MAX_GENERATED_FILE_BYTES);
        }
        h.update(JSON.stringify({ ...m, attachment: m.attachment !== null }));
      }
    }
    expect(files).toBe(341);
    expect(h.digest("hex")).toBe("058fda85f1a5b8ffa8a44afb81548e01e19d901e44f2f25f17d15a7d6f813f87");
  });

  it("serves generated attachments with their declared size and deterministic bytes, no auth needed", async () => {
    sim = await startSimulator({ conversations: 200, seed: 7 });
    const withFiles = sim
      .allConversations()
      .flatMap((c) => sim?.messages(c.id) ?? [])
      .filter((m) => m.attachment !== null)
      .slice(0, 5);
    expect(withFiles.length).toBe(5);
    for (const m of withFiles) {
      const url = m.attachment?.url as string;
      expect(url.startsWith(`${sim.url}/files/`)).toBe(true);
      const got = await get(url);
      expect(got.status).toBe(200);
      expect(got.bytes.length).toBe(m.attachment?.size);
      expect(got.bytes.equals(sim.fileBytes(url) as Buffer)).toBe(true);
    }
    // A file URL refuses an Authorization header: a mirror leaking TalkJS's key fails loudly.
    expect(
      (await get(withFiles[0]?.attachment?.url as string, { authorization: "Bearer sk_test_demo" })).status,
    ).toBe(400);
  });

  it("serves added files (same bytesSeed, same bytes) in content blocks", async () => {
    sim = await startSimulator({});
    const a = sim.addFile({ size: 200_000, filename: "report 1.pdf", bytesSeed: 5 });
    const b = sim.addFile({ size: 200_000, bytesSeed: 5 });
    sim.createConversation({ id: "c1", participants: ["u1"] });
    sim.addMessage("c1", {
      senderId: "u1",
      content: [{ type: "file", url: a.url, filename: a.filename, size: a.size }],
    });
    const [m] = (await call<MessagePage>(sim, "conversations/c1/messages")).body.data;
    expect(m?.content).toEqual([{ type: "file", url: a.url, filename: "report 1.pdf", size: 200_000 }]);
    const got = await get(a.url);
    expect(got.bytes.equals((await get(b.url)).bytes)).toBe(true);
    expect(got.bytes.length).toBe(200_000);
  });

  it("breaks file answers the way CDNs do, by fault", async () => {
    sim = await startSimulator({});
    const f = sim.addFile({ size: 100_000 });
    const files = { pathPrefix: "/files/" };
    sim.addFault({ fault: { kind: "html-page" }, match: files, nth: 1 });
    sim.addFault({ fault: { kind: "wrong-length" }, match: files, nth: 2 });
    sim.addFault({ fault: { kind: "status", status: 404 }, match: files, nth: 3 });
    sim.addFault({ fault: { kind: "reset-mid-body" }, match: files, nth: 4 });
    const html = await get(f.url);
    expect([html.status, html.type]).toEqual([200, "text/html; charset=utf-8"]);
    expect((await get(f.url)).bytes.length).toBe(100_017);
    expect((await get(f.url)).status).toBe(404);
    await expect(get(f.url)).rejects.toThrow();
    expect((await get(f.url)).bytes.length).toBe(100_000);
    expect(sim.requestLog.map((r) => r.status)).toEqual([200, 200, 404, 0, 200]);
  });

  it("expiring URLs: a read hands out a URL that works until it expires, a later read a new one", async () => {
    let now = Date.UTC(2026, 0, 1);
    sim = await startSimulator({ now: () => now, fileUrlTtlMs: 60_000 });
    const f = sim.addFile({ size: 1000 });
    sim.createConversation({ id: "c1", participants: ["u1"] });
    sim.addMessage("c1", { senderId: "u1", attachment: { url: f.url, size: f.size } });
    const read = async () =>
      (await call<MessagePage>(sim as Simulator, "conversations/c1/messages")).body.data[0]?.attachment
        ?.url as string;
    const first = await read();
    expect(first).toMatch(/\?expires=\d+$/);
    expect((await get(first)).status).toBe(200);
    now += 61_000;
    expect((await get(first)).status).toBe(403);
    const second = await read();
    expect(second).not.toBe(first);
    expect((await get(second)).status).toBe(200);
    expect(f.url).not.toContain("expires"); // the stable URL (sim.messages) has none
  });
});
