// POST /v1/{appId}/files: a multipart upload answers a fileToken; the bytes are served back under
// /files/ byte for byte; the import turns the app's own tokens (documented attachmentToken, script
// file block) into the message's file, and refuses an unknown token or another app's with a 400.
import { afterEach, describe, expect, it } from "vitest";
import { startSimulator } from "../../src/simulator/index.ts";
import type { Simulator } from "../../src/simulator/types.ts";
import { call } from "./helpers.ts";

const open: Simulator[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((s) => s.close()));
});
const as = (s: Simulator, appId: string): Simulator =>
  ({ url: s.url, appId, secretKey: `sk_test_${appId}` }) as Simulator;

/** Uploads `bytes` to `appId` the way a browser's FormData does. */
async function upload(s: Simulator, appId: string, bytes: Buffer, filename: string) {
  const form = new FormData();
  form.append("file", new Blob([new Uint8Array(bytes)], { type: "image/png" }), filename);
  const res = await fetch(`${s.url}/v1/${appId}/files`, {
    method: "POST",
    headers: { authorization: `Bearer sk_test_${appId}` },
    body: form,
  });
  return { status: res.status, body: (await res.json()) as { fileToken?: string } };
}

describe("file upload", () => {
  it("answers a fileToken; the documented import's attachmentToken becomes the attachment, served byte for byte", async () => {
    const s = await startSimulator({ conversations: 1, apps: ["demo", "copy"] });
    open.push(s);
    const bytes = Buffer.from(Array.from({ length: 70_000 }, (_, i) => (i * 7) % 256)); // binary, > one chunk
    const up = await upload(s, "copy", bytes, "pic.png");
    expect(up.status).toBe(200);
    expect(up.body.fileToken).toMatch(/^ft_/);
    const copy = as(s, "copy");
    expect((await call(copy, "conversations/c1", { method: "PUT", body: "{}" })).status).toBe(200);
    const item = { text: "", sender: "u1", timestamp: 1_000, type: "UserMessage" };
    expect(
      (
        await call(copy, "import/conversations/c1/messages", {
          method: "POST",
          body: JSON.stringify([{ ...item, attachmentToken: up.body.fileToken }]),
        })
      ).status,
    ).toBe(200);
    const [m] = s.appStore("copy")?.messages("c1") ?? [];
    expect(m?.attachment?.size).toBe(bytes.length);
    const served = await fetch(m?.attachment?.url as string);
    expect(Buffer.from(await served.arrayBuffer()).equals(bytes)).toBe(true);
    expect(new URL(m?.attachment?.url as string).pathname.endsWith("/pic.png")).toBe(true);

    // a token of another app, or an unknown one, is a 400 and imports nothing
    const other = await upload(s, "demo", bytes, "x.png");
    for (const token of [other.body.fileToken, "ft_unknown"]) {
      const r = await call(copy, "import/conversations/c1/messages", {
        method: "POST",
        body: JSON.stringify([{ ...item, attachmentToken: token }]),
      });
      expect(r.status).toBe(400);
    }
    expect(s.appStore("copy")?.messages("c1")).toHaveLength(1);
  });

  it("refuses a body that is not multipart, or has no file part", async () => {
    const s = await startSimulator({ conversations: 0, apps: ["demo"] });
    open.push(s);
    expect((await call(s, "files", { method: "POST", body: "{}" })).status).toBe(400);
    const form = new FormData();
    form.append("filename", "a.txt");
    const res = await fetch(`${s.url}/v1/demo/files`, {
      method: "POST",
      headers: { authorization: `Bearer ${s.secretKey}` },
      body: form,
    });
    expect(res.status).toBe(400);
  });
});
