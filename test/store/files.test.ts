// The files tables on both databases: message writes register their files, the history scan
// registers what was mirrored before, a new URL for a block re-arms it, outcomes and stats.
import { beforeAll, describe, expect, it } from "vitest";
import { fileRefsOf } from "../../src/store/files.ts";
import type { Store } from "../../src/store/store.ts";
import type { Message } from "../../src/talkjs/types.ts";
import { PROVIDERS, useStore } from "../helpers/db.ts";
import { T0 } from "./fixtures.ts";

const APP = "app_files";

function message(id: string, overrides: Partial<Message> = {}): Message {
  return {
    id,
    conversationId: "c1",
    type: "UserMessage",
    senderId: "alice",
    readBy: [],
    text: "",
    attachment: null,
    location: null,
    origin: "web",
    createdAt: T0,
    editedAt: null,
    referencedMessageId: null,
    custom: {},
    ...overrides,
  };
}

describe("fileRefsOf", () => {
  it("reads the attachment (block -1) and content file blocks, nothing else", () => {
    const refs = fileRefsOf(
      APP,
      message("m1", {
        attachment: { url: "https://cdn.example/a/report%201.pdf?sig=x", size: 10 },
        content: [
          { type: "text", children: ["hi"] },
          { type: "file", url: "https://cdn.example/b", filename: "b.png", size: 5, subtype: "image" },
          { type: "file", url: 42 },
          null,
        ],
      }),
    );
    expect(refs.map((r) => [r.blockIndex, r.url, r.declaredSize, r.filename])).toEqual([
      [-1, "https://cdn.example/a/report%201.pdf?sig=x", 10, "report 1.pdf"],
      [1, "https://cdn.example/b", 5, "b.png"],
    ]);
  });
});

describe.each(PROVIDERS)("files store on %s", (provider) => {
  const fixture = useStore(provider);
  const { skip } = fixture;
  let store: Store;
  beforeAll(() => {
    if (!skip) store = fixture.store;
  });
  const seenAt = new Date(T0);
  const key = (messageId: string, blockIndex = -1) => ({ messageId, blockIndex });

  it.skipIf(skip)("registers files with the message page, re-arms a block given a new URL", async () => {
    await store.messages.upsert(APP, [message("m1", { attachment: { url: "https://x/1", size: 3 } })], {
      seenAt,
    });
    let due = await store.files.due(APP, new Date(T0), 10);
    expect(due.map((d) => [d.messageId, d.blockIndex, d.url, d.declaredSize, d.filename])).toEqual([
      ["m1", -1, "https://x/1", 3, "1"],
    ]);
    const later = new Date(T0 + 1000);
    await store.files.recordOutcome(APP, key("m1"), {
      status: "failed",
      error: "HTTP 403",
      nextAttemptAt: new Date(T0 + 3_600_000),
      missingSince: later,
      at: later,
    });
    expect(await store.files.due(APP, later, 10)).toEqual([]);
    // Same message again (unchanged): nothing moves.
    await store.messages.upsert(APP, [message("m1", { attachment: { url: "https://x/1", size: 3 } })], {
      seenAt: later,
    });
    expect(await store.files.due(APP, later, 10)).toEqual([]);
    // A re-read hands out a new URL: due at once, the 403 streak forgotten.
    await store.messages.upsert(APP, [message("m1", { attachment: { url: "https://x/1?v=2", size: 3 } })], {
      seenAt: later,
    });
    due = await store.files.due(APP, later, 10);
    expect(due.map((d) => [d.url, d.attempts, d.missingSince])).toEqual([["https://x/1?v=2", 1, null]]);
    await store.files.recordStored(APP, key("m1"), {
      sha256: "a".repeat(64),
      size: 3,
      contentType: null,
      at: later,
    });
    const stats = await store.files.stats(APP);
    expect(stats.byStatus).toMatchObject({ stored: 1, pending: 0, failed: 0 });
    expect([stats.blobs, stats.storedBytes]).toEqual([1, 3]);
    expect(await store.files.storedBlobForUrl(APP, "https://x/1?v=2")).toBe("a".repeat(64));
  });

  it.skipIf(skip)("a reference erased by forget mid-download is neither stored nor failed", async () => {
    const app = `${APP}_erased`;
    await store.messages.upsert(
      app,
      [
        message("e1", { senderId: "erin", attachment: { url: "https://x/erin.pdf", size: 4 } }),
        message("e2", { senderId: "bob", attachment: { url: "https://x/bob.pdf", size: 4 } }),
      ],
      { seenAt },
    );
    const [due] = await store.files.due(app, seenAt, 1); // the files job took e1 ...
    const result = await store.privacy.forget(app, "erin", { apply: true, at: seenAt }); // ... forget ran
    expect(result.counts).toMatchObject({ fileRefs: 1, files: 0 });
    const blob = { sha256: "e".repeat(64), size: 4, contentType: null, at: seenAt };
    expect(await store.files.recordStored(app, key(due?.messageId as string), blob)).toBe(false);
    expect(await store.files.hasBlob(blob.sha256)).toBe(false);
    await store.files.recordOutcome(app, key("e1"), {
      status: "failed",
      error: "HTTP 500 https://x/erin.pdf",
      nextAttemptAt: seenAt,
      missingSince: null,
      at: seenAt,
    });
    const stats = await store.files.stats(app);
    expect(stats.byStatus).toMatchObject({ erased: 1, pending: 1, stored: 0, failed: 0 });
    expect((await store.files.due(app, seenAt, 10)).map((d) => d.messageId)).toEqual(["e2"]);
    // The erased sender's message written again registers nothing.
    await store.messages.upsert(
      app,
      [message("e1", { senderId: "erin", attachment: { url: "https://x/erin-v2.pdf", size: 4 } })],
      { seenAt },
    );
    expect((await store.files.stats(app)).byStatus).toMatchObject({ erased: 1, pending: 1 });
  });

  it.skipIf(skip)("the history scan registers files of messages mirrored before, page by page", async () => {
    const app = `${APP}_history`;
    const messages = Array.from({ length: 5 }, (_, i) =>
      message(`h${i}`, {
        content: [{ type: "file", url: `https://x/h${i}`, filename: `h${i}.txt`, size: i }],
      }),
    );
    await store.messages.upsert(app, [...messages, message("plain", { text: "no file" })], { seenAt });
    // Pretend the rows predate the files feature: nothing registered.
    const { Prisma } = await import("../../src/generated/prisma/client.ts");
    await store.queryRaw(Prisma.sql`DELETE FROM message_files WHERE app_id = ${app} RETURNING 1`);
    expect(await store.files.due(app, seenAt, 10)).toEqual([]);
    let after: string | null = "";
    let pages = 0;
    while (after !== null) {
      after = await store.files.registerHistoryPage(app, after, 2, seenAt);
      pages++;
    }
    expect(pages).toBe(3);
    const due = await store.files.due(app, seenAt, 10);
    expect(due.map((d) => [d.messageId, d.blockIndex, d.filename]).sort()).toEqual(
      messages.map((m, i) => [m.id, 0, `h${i}.txt`]),
    );
  });
});
