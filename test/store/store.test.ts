import { beforeAll, describe, expect, it } from "vitest";
import { canonicalJson, contentHash } from "../../src/store/hash.ts";
import type { Store } from "../../src/store/store.ts";
import { PROVIDERS, useStore } from "../helpers/db.ts";
import { makeConversation, T0 } from "./fixtures.ts";

const APP = "app_test";
const OTHER_APP = "app_other";

describe("contentHash", () => {
  it("ignores key order, recursively", () => {
    expect(contentHash({ a: 1, b: { c: [1, { d: 2, e: 3 }] } })).toBe(
      contentHash({ b: { c: [1, { e: 3, d: 2 }] }, a: 1 }),
    );
    expect(canonicalJson({ b: 1, a: [{ z: 1, y: 2 }] })).toBe('{"a":[{"y":2,"z":1}],"b":1}');
    expect(contentHash({ a: 1 })).not.toBe(contentHash({ a: 2 }));
  });
});

describe.each(PROVIDERS)("store on %s", (provider) => {
  const fixture = useStore(provider, { poolSize: 3 });
  const { skip } = fixture;
  let store: Store;
  beforeAll(() => {
    if (!skip) store = fixture.store;
  });

  it.skipIf(skip)("inserts, then counts unchanged rows without touching updated_at", async () => {
    const seen1 = new Date(T0 + 1_000_000);
    const page = [makeConversation("c1"), makeConversation("c2"), makeConversation("c3")];
    expect(await store.upsertConversations(APP, page, { seenAt: seen1 })).toEqual({
      inserted: 3,
      updated: 0,
      unchanged: 0,
    });
    const before = await store.getConversation(APP, "c1");
    expect(before?.updatedAt).toEqual(seen1);
    expect(before?.firstSeenAt).toEqual(seen1);

    const seen2 = new Date(T0 + 2_000_000);
    // Same content with a different key order: still unchanged.
    const reordered = page.map((c) => Object.fromEntries(Object.entries(c).reverse()) as typeof c);
    expect(await store.upsertConversations(APP, reordered, { seenAt: seen2 })).toEqual({
      inserted: 0,
      updated: 0,
      unchanged: 3,
    });
    const after = await store.getConversation(APP, "c1");
    expect(after?.updatedAt).toEqual(seen1);
    expect(after?.syncedAt).toEqual(seen2);
    expect(after?.contentHash).toBe(before?.contentHash);
    expect(canonicalJson(after?.raw)).toBe(canonicalJson(before?.raw));
  });

  it.skipIf(skip)("updates changed rows and replaces participants as a set", async () => {
    const seen = new Date(T0 + 3_000_000);
    const changed = makeConversation("c1", {
      subject: "New subject",
      participants: {
        alice: { access: "Read", notify: false },
        carol: { access: "ReadWrite", notify: true },
      },
    });
    const counts = await store.upsertConversations(
      APP,
      [changed, makeConversation("c2"), makeConversation("c4")],
      {
        seenAt: seen,
      },
    );
    expect(counts).toEqual({ inserted: 1, updated: 1, unchanged: 1 });
    const row = await store.getConversation(APP, "c1");
    expect(row?.subject).toBe("New subject");
    expect(row?.updatedAt).toEqual(seen);
    expect(row?.firstSeenAt).toEqual(new Date(T0 + 1_000_000));
    expect(row?.participantCount).toBe(2);
    expect(row?.participants).toEqual([
      { userId: "alice", access: "Read", notify: false },
      { userId: "carol", access: "ReadWrite", notify: true },
    ]);
    // c2 untouched: its participants are still there.
    expect((await store.getConversation(APP, "c2"))?.participants.map((p) => p.userId)).toEqual([
      "alice",
      "bob",
    ]);
  });

  it.skipIf(skip)("round-trips JSON (unicode, emoji, RTL, nested), timestamps and a nasty id", async () => {
    const id = "a/b c?#%é";
    const custom = { emoji: "👩‍👩‍👧 🎉", rtl: "مرحبا بالعالم", quote: `"'\\\n\t`, zh: "你好", nul: "x" };
    const base = makeConversation(id).lastMessage;
    if (!base) throw new Error("fixture has a last message");
    const conv = makeConversation(id, {
      subject: "Ünïcödé ✓ שלום",
      custom,
      welcomeMessages: ["👋", "second"],
      topicId: "topic/1",
      photoUrl: "https://example.com/p.png?x=1&y=é",
      lastMessage: {
        ...base,
        content: [{ type: "text", children: [{ nested: { deep: [1, 2, { k: "v" }] } }] }],
        createdAt: T0 + 999,
      },
    });
    await store.upsertConversations(APP, [conv], { seenAt: new Date(T0 + 4_000_000) });
    const row = await store.getConversation(APP, id);
    expect(row).not.toBeNull();
    expect(row?.id).toBe(id);
    expect(row?.subject).toBe("Ünïcödé ✓ שלום");
    expect(row?.custom).toEqual(custom);
    expect(row?.welcomeMessages).toEqual(["👋", "second"]);
    expect(row?.photoUrl).toBe(conv.photoUrl);
    expect(canonicalJson(row?.raw)).toBe(canonicalJson(conv));
    expect(canonicalJson(row?.lastMessage)).toBe(canonicalJson(conv.lastMessage));
    expect(row?.contentHash).toBe(contentHash(conv));
    expect(row?.createdAt).toBeInstanceOf(Date);
    expect(row?.createdAt).toEqual(new Date(T0));
    expect(row?.lastMessageAt).toEqual(new Date(T0 + 999));
    expect(row?.lastActivityAt).toEqual(new Date(T0 + 999));
    expect(row?.lastMessageId).toBe(`msg_${id}`);
    expect(row?.lastMessageSenderId).toBe("alice");
  });

  it.skipIf(skip)("stores a conversation without messages or participants", async () => {
    const conv = makeConversation("empty", { lastMessage: null, participants: {}, welcomeMessages: null });
    await store.upsertConversations(APP, [conv], { seenAt: new Date(T0 + 5_000_000) });
    const row = await store.getConversation(APP, "empty");
    expect(row?.lastMessage).toBeNull();
    expect(row?.lastMessageAt).toBeNull();
    expect(row?.lastActivityAt).toEqual(new Date(T0));
    expect(row?.participants).toEqual([]);
    expect(row?.participantCount).toBe(0);
  });

  it.skipIf(skip)("keeps apps apart", async () => {
    await store.upsertConversations(OTHER_APP, [makeConversation("c1", { subject: "other" })], {
      seenAt: new Date(T0),
    });
    expect((await store.getConversation(OTHER_APP, "c1"))?.subject).toBe("other");
    expect((await store.getConversation(APP, "c1"))?.subject).toBe("New subject");
    expect(await store.countLive(OTHER_APP)).toBe(1);
  });

  it.skipIf(skip)("handles a page bigger than one statement's parameter budget", async () => {
    const many = Array.from({ length: 1_600 }, (_, i) =>
      makeConversation(`bulk_${String(i).padStart(5, "0")}`),
    );
    const counts = await store.upsertConversations("app_bulk", many, { seenAt: new Date(T0) });
    expect(counts).toEqual({ inserted: 1_600, updated: 0, unchanged: 0 });
    expect((await store.stats("app_bulk")).participants).toBe(3_200);
  });

  it.skipIf(skip)(
    "serializes concurrent page writes (one writer on SQLite, row locks on PostgreSQL)",
    async () => {
      const app = "app_concurrent";
      const pages = Array.from({ length: 6 }, (_, p) =>
        Array.from({ length: 50 }, (_, i) =>
          makeConversation(`k${(p * 25 + i) % 120}`, { subject: `p${p}` }),
        ),
      );
      const results = await Promise.all(
        pages.map((page, p) => store.upsertConversations(app, page, { seenAt: new Date(T0 + p) })),
      );
      const total = results.reduce((n, r) => n + r.inserted + r.updated + r.unchanged, 0);
      expect(total).toBe(300);
      expect(results.reduce((n, r) => n + r.inserted, 0)).toBe(120);
      expect(await store.countLive(app)).toBe(120);
      expect((await store.stats(app)).participants).toBe(240);
    },
  );

  it.skipIf(skip)("writes the checkpoint in the same transaction as the page", async () => {
    const app = "app_atomic";
    const seen = new Date(T0 + 10_000);
    await store.upsertConversations(app, [makeConversation("x1")], {
      seenAt: seen,
      checkpoint: { stream: "activity", cursor: '{"after":"x1"}', watermark: new Date(T0) },
    });
    const state = await store.getSyncState(app, "activity");
    expect(state?.cursor).toBe('{"after":"x1"}');
    expect(state?.watermark).toEqual(new Date(T0));
    expect(state?.lastSuccessAt).toEqual(seen);

    // A participant with a NULL access violates NOT NULL mid-transaction: nothing may change.
    const bad = makeConversation("x2", {
      participants: { eve: { access: null as unknown as "Read", notify: true } },
    });
    const changedX1 = makeConversation("x1", { subject: "changed" });
    await expect(
      store.upsertConversations(app, [changedX1, bad], {
        seenAt: new Date(T0 + 20_000),
        checkpoint: { stream: "activity", cursor: '{"after":"x2"}' },
      }),
    ).rejects.toThrow();
    expect(await store.getConversation(app, "x2")).toBeNull();
    expect((await store.getConversation(app, "x1"))?.subject).toBe("Subject of x1");
    expect((await store.getSyncState(app, "activity"))?.cursor).toBe('{"after":"x1"}');

    // A later checkpoint without a watermark keeps the stored one and clears a recorded error.
    await store.recordSyncError(app, "activity", "boom");
    const later = new Date(T0 + 30_000);
    await store.upsertConversations(app, [makeConversation("x3")], {
      seenAt: later,
      checkpoint: { stream: "activity", cursor: '{"after":"x3"}' },
    });
    expect(await store.getSyncState(app, "activity")).toMatchObject({
      cursor: '{"after":"x3"}',
      watermark: new Date(T0),
      lastSuccessAt: later,
      lastError: null,
    });
  });

  it.skipIf(skip)("supports reconcile: mark seen by run, list unseen, mark deleted, resurrect", async () => {
    const app = "app_reconcile";
    await store.upsertConversations(
      app,
      ["r1", "r2", "r3", "r4"].map((id) => makeConversation(id)),
      {
        seenAt: new Date(T0),
      },
    );
    const runId = await store.startRun(app, "reconcile");
    // The run sees r1 and r3 (unchanged content still marks them seen).
    const counts = await store.upsertConversations(app, [makeConversation("r1"), makeConversation("r3")], {
      seenAt: new Date(T0 + 1),
      runId,
    });
    expect(counts.unchanged).toBe(2);
    expect(await store.listUnseenLive(app, runId, 10)).toEqual(["r2", "r4"]);
    expect(await store.listUnseenLive(app, runId, 1)).toEqual(["r2"]);
    expect(await store.listUnseenLive(app, runId, 10, "r2")).toEqual(["r4"]);
    // A later non-reconcile sync keeps the marker.
    await store.upsertConversations(app, [makeConversation("r1", { subject: "x" })], {
      seenAt: new Date(T0 + 2),
    });
    expect(await store.listUnseenLive(app, runId, 10)).toEqual(["r2", "r4"]);

    const at = new Date(T0 + 3);
    expect(await store.markDeleted(app, ["r2", "r4"], at)).toBe(2);
    expect(await store.markDeleted(app, ["r2"], new Date(T0 + 4))).toBe(0); // already deleted
    expect(await store.countLive(app)).toBe(2);
    expect((await store.getConversation(app, "r2"))?.deletedAt).toEqual(at);
    expect(await store.listUnseenLive(app, runId, 10)).toEqual([]);

    // r2 reappears with the same content: resurrected, counted as updated.
    expect(
      await store.upsertConversations(app, [makeConversation("r2")], { seenAt: new Date(T0 + 5) }),
    ).toEqual({
      inserted: 0,
      updated: 1,
      unchanged: 0,
    });
    expect((await store.getConversation(app, "r2"))?.deletedAt).toBeNull();
    const stats = await store.stats(app);
    expect(stats).toMatchObject({ live: 3, deleted: 1 });
    expect(stats.newestActivityAt).toEqual(new Date(T0 + 60_000));

    await store.finishRun(runId, {
      status: "succeeded",
      counts: { pages: 1, fetched: 2, unchanged: 2, markedDeleted: 2 },
      finishedAt: new Date(T0 + 6),
    });
    const [run] = await store.lastRuns(app);
    expect(run).toMatchObject({
      id: runId,
      kind: "reconcile",
      status: "succeeded",
      pages: 1,
      fetched: 2,
      inserted: 0,
      unchanged: 2,
      markedDeleted: 2,
      error: null,
    });
    expect(run?.finishedAt).toEqual(new Date(T0 + 6));
  });

  it.skipIf(skip)(
    "a run lock closes the app's dead runs but never a restore's; a restore lock closes only its target's",
    async () => {
      const app = "app_abandoned";
      const sync = await store.startRun(app, "sync", new Date(T0));
      const intoA = await store.startRun(app, "restore", new Date(T0), "target_a");
      const intoB = await store.startRun(app, "restore", new Date(T0), "target_b");
      const status = async () =>
        Object.fromEntries(
          (await store.lastRuns(app)).map((r) => [`${r.kind}:${r.targetAppId ?? ""}`, r.status]),
        );
      // A sync taking the app's run lock: the restores may be alive (they hold their own locks).
      expect(await store.closeAbandonedRuns(app, new Date(T0 + 1))).toBe(1);
      expect(await status()).toEqual({
        "sync:": "abandoned",
        "restore:target_a": "running",
        "restore:target_b": "running",
      });
      // A restore into target_a taking target_a's restore lock: only the dead run into target_a.
      expect(await store.closeAbandonedRestores(app, "target_a", new Date(T0 + 2))).toBe(1);
      expect(await status()).toEqual({
        "sync:": "abandoned",
        "restore:target_a": "abandoned",
        "restore:target_b": "running",
      });
      expect([sync, intoA, intoB]).toHaveLength(3);
    },
  );

  it.skipIf(skip)("records runs and sync state", async () => {
    const app = "app_runs";
    const a = await store.startRun(app, "activity", new Date(T0));
    const b = await store.startRun(app, "backfill", new Date(T0 + 1));
    await store.finishRun(a, { status: "failed", error: "boom" });
    const runs = await store.lastRuns(app);
    expect(runs.map((r) => r.id)).toEqual([b, a]);
    expect(runs[0]?.status).toBe("running");
    expect(runs[0]?.startedAt).toEqual(new Date(T0 + 1));
    expect(runs[1]).toMatchObject({ status: "failed", error: "boom" });

    expect(await store.getSyncState(app, "created")).toBeNull();
    await store.recordSyncError(app, "created", "HTTP 500", new Date(T0));
    expect(await store.getSyncState(app, "created")).toMatchObject({
      cursor: null,
      lastError: "HTTP 500",
      lastErrorAt: new Date(T0),
      lastSuccessAt: null,
    });
    await store.saveSyncState(app, "created", {
      cursor: "c",
      watermark: new Date(T0 + 7),
      lastSuccessAt: new Date(T0 + 8),
    });
    expect(await store.getSyncState(app, "created")).toMatchObject({
      cursor: "c",
      watermark: new Date(T0 + 7),
      lastSuccessAt: new Date(T0 + 8),
      lastError: null,
    });
  });
});
