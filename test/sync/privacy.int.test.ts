// Erasure and purge on SQLite and PostgreSQL, against the simulator over real HTTP: `forget`
// leaves no trace of the user's name, emails, phones, custom fields or message text in any column
// of any table (a scan of every row), a following `reconcile --messages` does not bring them back
// while TalkJS still has them, `report` still runs, `--undo` lifts it; `purge` removes exactly the
// rows it counted.
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { Readable } from "node:stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildReport } from "../../src/analytics/report.ts";
import type { SyncSettings } from "../../src/config/index.ts";
import { messageFilesOf } from "../../src/store/sql/files.ts";
import type { Store } from "../../src/store/store.ts";
import { BlobDir } from "../../src/sync/file-blobs.ts";
import { runMirrorJob } from "../../src/sync/jobs.ts";
import { forgetUser, parseAge, purgeDeleted } from "../../src/sync/privacy.ts";
import type { Message } from "../../src/talkjs/types.ts";
import { PROVIDERS, sqlText, useStore } from "../helpers/db.ts";
import { makeConversation, T0 } from "../store/fixtures.ts";
import { SKEW_MS, useHarnesses } from "./harness.ts";

const SETTINGS: SyncSettings = {
  clockSkewMs: SKEW_MS,
  maxDeleteShare: 0.1,
  mirrorMessages: true,
  mirrorUsers: true,
  messageConcurrency: 3,
  backfillConcurrency: 1,
};

const VICTIM = "victim/ü 1";
const PERSONAL = [
  "Zyxwv Victimsson",
  "victim.zyx@example.com",
  "second.zyx@example.org",
  "+31600011122",
  "qqq-custom-value",
  "my secret text 8271",
  "another secret 5512",
];

/** Every personal string found in any row of any table (every column, raw JSON included). */
async function scan(store: Store, needles: readonly string[] = PERSONAL): Promise<string[]> {
  const tables = await store.queryRaw(
    sqlText(
      store.provider === "sqlite"
        ? "SELECT name FROM sqlite_master WHERE type = 'table'"
        : "SELECT table_name AS name FROM information_schema.tables WHERE table_schema = current_schema()",
    ),
  );
  expect(tables.map((t) => t.name)).toEqual(
    expect.arrayContaining(["users", "messages", "conversations", "sync_runs"]),
  );
  const found = new Set<string>();
  for (const t of tables) {
    const rows = await store.queryRaw(sqlText(`SELECT * FROM "${String(t.name)}"`));
    for (const row of rows) {
      const text = JSON.stringify(row, (_k, v: unknown) => (typeof v === "bigint" ? String(v) : v));
      for (const p of needles) if (text.includes(p)) found.add(`${String(t.name)}: ${p}`);
    }
  }
  return [...found].sort();
}

const filesRoot = mkdtempSync(path.join(os.tmpdir(), "talkjs-forget-files-"));
afterAll(() => rmSync(filesRoot, { recursive: true, force: true }));

describe.each(PROVIDERS)("privacy on %s", (provider) => {
  const fixture = useStore(provider, { poolSize: 4 });
  const { skip } = fixture;
  let store: Store;
  beforeAll(() => {
    if (!skip) store = fixture.store;
  });
  const open = useHarnesses(fixture);

  it.skipIf(skip)(
    "forget erases a user everywhere, durably; reconcile does not bring it back; undo lifts it",
    async () => {
      const h = await open("exclusive", { conversations: 90, burst: 5 });
      h.sim.putUser(VICTIM, {
        name: "Zyxwv Victimsson",
        email: ["victim.zyx@example.com", "second.zyx@example.org"],
        phone: ["+31600011122"],
        custom: { note: "qqq-custom-value" },
      });
      h.sim.createConversation({ id: "c victim", participants: [VICTIM, "user_00001"] });
      h.sim.addMessage("c victim", { senderId: "user_00001", text: "hello" });
      h.sim.addMessage("c victim", { senderId: VICTIM, text: "my secret text 8271" });
      const other = h.sim.allConversations()[0]?.id as string;
      h.sim.updateConversation(other, { participants: [VICTIM] });
      h.sim.addMessage(other, { senderId: VICTIM, text: "another secret 5512" });
      await runMirrorJob(h.ctx, "backfill", { settings: SETTINGS });
      const run = await store.startRun(h.appId, "sync");
      await store.finishRun(run, { status: "failed", error: "could not write Zyxwv Victimsson's page" });
      await store.recordSyncError(h.appId, "created", "bad address victim.zyx@example.com");
      expect(await scan(store)).toContain("users: Zyxwv Victimsson"); // the scan does find them
      const countsBefore = await store.queryRaw(sqlText(`SELECT COUNT(*) AS n FROM messages`));

      const dry = await forgetUser(h.ctx, VICTIM, { apply: false });
      expect(dry).toMatchObject({
        applied: false,
        counts: { users: 1, messages: 2, conversations: 2, errors: 2 },
      });
      expect(await store.privacy.erasedIds(h.appId)).toEqual(new Set());
      expect((await scan(store)).length).toBeGreaterThan(0);

      const done = await forgetUser(h.ctx, VICTIM, { apply: true });
      expect(done.counts).toEqual({
        users: 1,
        messages: 2,
        conversations: 2,
        errors: 2,
        fileRefs: 0,
        files: 0,
      });
      expect(await scan(store)).toEqual([]);
      // ids and timestamps stay: counts still add up
      expect(await store.queryRaw(sqlText(`SELECT COUNT(*) AS n FROM messages`))).toEqual(countsBefore);
      const row = await store.users.get(h.appId, VICTIM);
      expect(row).toMatchObject({ id: VICTIM, name: null, email: null, phone: null, deletedAt: null });
      expect((await store.messages.get(h.appId, (h.sim.messages("c victim")[0] as Message).id))?.text).toBe(
        "",
      );
      // idempotent
      await forgetUser(h.ctx, VICTIM, { apply: true });

      // TalkJS still has everything: a full reconcile with deep messages, and a sync, bring nothing back
      h.sim.addMessage("c victim", { senderId: VICTIM, text: "my secret text 8271" });
      await runMirrorJob(h.ctx, "sync", { settings: SETTINGS });
      await runMirrorJob(h.ctx, "reconcile", { settings: SETTINGS, deepMessages: true });
      expect(await scan(store)).toEqual([]);
      const report = await buildReport(store, h.appId);
      expect(report).toBeTruthy();

      // undo: the next reconcile stores the user's data again
      expect(await forgetUser(h.ctx, VICTIM, { apply: true, undo: true })).toMatchObject({ undone: true });
      await runMirrorJob(h.ctx, "reconcile", { settings: SETTINGS, deepMessages: true });
      expect(await scan(store)).toEqual(
        expect.arrayContaining(["users: Zyxwv Victimsson", "messages: my secret text 8271"]),
      );
    },
  );

  it.skipIf(skip)(
    "forget removes the files only the user's messages point to, durably; shared ones stay; undo brings them back",
    async () => {
      const h = await open("exclusive", { conversations: 3, burst: 0 });
      const dir = path.join(filesRoot, provider);
      const settings: SyncSettings = {
        ...SETTINGS,
        files: {
          enabled: true,
          dir,
          concurrency: 2,
          maxBytes: 1 << 20,
          allowPrivateHosts: true,
          goneAfterDays: 7,
        },
      };
      const owner = "file owner";
      h.sim.putUser(owner, { name: "File Owner" });
      h.sim.createConversation({ id: "c files", participants: [owner, "user_00001"] });
      // Same bytes under two URLs: the owner's copy and another user's copy share one blob.
      const shared = h.sim.addFile({ size: 2_000, filename: "zq-owner-shared.png", bytesSeed: 71 });
      const twin = h.sim.addFile({ size: 2_000, filename: "other-copy.png", bytesSeed: 71 });
      const only = h.sim.addFile({ size: 3_000, filename: "zq-owner-only.pdf", bytesSeed: 72 });
      const mine = h.sim.addMessage("c files", {
        senderId: owner,
        attachment: { url: only.url, size: only.size },
      });
      h.sim.addMessage("c files", {
        senderId: owner,
        text: "see file",
        content: [{ type: "file", url: shared.url, filename: shared.filename, size: shared.size }],
      });
      h.sim.addMessage("c files", {
        senderId: "user_00001",
        content: [{ type: "file", url: twin.url, filename: twin.filename, size: twin.size }],
      });
      await runMirrorJob(h.ctx, "backfill", { settings });
      const refs = async () =>
        (await store.queryRaw(messageFilesOf(h.appId))).filter((r) =>
          (h.sim.messages("c files") as Message[]).some((m) => m.id === r.message_id),
        );
      const before = await refs();
      expect(before.map((r) => r.status)).toEqual(["stored", "stored", "stored"]);
      const shaOf = (url: string) => String(before.find((r) => r.url === url)?.sha256);
      const blobs = new BlobDir(dir);
      const [onlySha, sharedSha] = [shaOf(only.url), shaOf(shared.url)];
      expect(shaOf(twin.url)).toBe(sharedSha);
      expect(existsSync(blobs.pathOf(onlySha))).toBe(true);
      const needles = [only.url, shared.url, only.filename, shared.filename];
      expect(await scan(store, needles)).toContain("message_files: zq-owner-only.pdf");
      const blobRows = async () =>
        (await store.queryRaw(sqlText("SELECT sha256 FROM file_blobs"))).map((r) => String(r.sha256));

      // Without FILES_DIR the bytes could not be removed: refused, naming the setting, nothing changed.
      await expect(forgetUser(h.ctx, owner, { apply: true })).rejects.toThrow(/FILES_DIR/);
      expect(await store.privacy.erasedIds(h.appId)).toEqual(new Set());
      const dry = await forgetUser(h.ctx, owner, { apply: false, filesDir: dir });
      expect(dry.counts).toMatchObject({ messages: 2, fileRefs: 2, files: 1 });
      expect(existsSync(blobs.pathOf(onlySha))).toBe(true);

      const done = await forgetUser(h.ctx, owner, { apply: true, filesDir: dir });
      expect(done.counts).toMatchObject({ messages: 2, fileRefs: 2, files: 1 });
      expect(existsSync(blobs.pathOf(onlySha))).toBe(false);
      expect(existsSync(blobs.pathOf(sharedSha))).toBe(true);
      expect(await blobRows()).not.toContain(onlySha);
      expect(await blobRows()).toContain(sharedSha);
      expect(await scan(store, needles)).toEqual([]);
      const erased = (await refs()).filter((r) => r.status === "erased");
      expect(erased).toHaveLength(2); // ids, block index and sizes stay: counts still add up
      expect(erased.map((r) => [r.url, r.filename, r.sha256, Number(r.declared_size)]).sort()).toEqual([
        ["", null, null, 2_000],
        ["", null, null, 3_000],
      ]);
      expect((await store.files.stats(h.appId)).byStatus.erased).toBe(2);
      expect(await forgetUser(h.ctx, owner, { apply: true, filesDir: dir })).toMatchObject({
        counts: { fileRefs: 0, files: 0 },
      }); // idempotent

      // TalkJS still serves them: a deep reconcile and its files job neither register nor fetch them.
      h.sim.clearRequestLog();
      await runMirrorJob(h.ctx, "reconcile", { settings, deepMessages: true });
      const fetched = h.sim.requestLog.map((r) => r.path);
      expect(fetched.some((p) => p.includes(only.filename) || p.includes(shared.filename))).toBe(false);
      expect(existsSync(blobs.pathOf(onlySha))).toBe(false);
      expect(await scan(store, needles)).toEqual([]);
      expect((await refs()).filter((r) => r.status === "erased")).toHaveLength(2);

      // undo: the next reconcile registers and archives them again
      await forgetUser(h.ctx, owner, { apply: true, undo: true, filesDir: dir });
      await runMirrorJob(h.ctx, "reconcile", { settings, deepMessages: true });
      const back = (await refs()).find((r) => r.message_id === mine.id);
      expect(back).toMatchObject({
        url: only.url,
        filename: only.filename,
        status: "stored",
        sha256: onlySha,
      });
      expect(existsSync(blobs.pathOf(onlySha))).toBe(true);
    },
  );

  it.skipIf(skip)(
    "purge removes exactly the rows deleted before the cutoff, and only with apply",
    async () => {
      const app = `purge_${provider}`;
      const old = new Date(T0 - 200 * 86_400_000);
      const recent = new Date(T0 - 86_400_000);
      const convs = ["gone-old", "gone-recent", "live"].map((id) => makeConversation(id));
      await store.upsertConversations(app, convs, { seenAt: new Date(T0 - 300 * 86_400_000) });
      const msg = (id: string, conversationId: string) => fileMessage(id, conversationId, {});
      await store.messages.upsert(
        app,
        [
          msg("m1", "gone-old"),
          msg("m2", "gone-old"),
          msg("m3", "live"),
          msg("m4", "live"),
          msg("m5", "gone-recent"),
        ],
        { seenAt: new Date(T0 - 300 * 86_400_000) },
      );
      await store.users.upsert(
        app,
        ["u-old", "u-live"].map((id) => ({ ...makeUser(id) })),
        { seenAt: new Date(T0 - 300 * 86_400_000) },
      );
      await store.markDeleted(app, ["gone-old"], old);
      await store.markDeleted(app, ["gone-recent"], recent);
      await store.messages.markDeleted(app, ["m3"], old);
      await store.users.markDeleted(app, ["u-old"], old);
      const ctx = {
        store,
        appId: app,
        logger: (await open("exclusive", { conversations: 0, burst: 0 })).ctx.logger,
      };
      const before = new Date(T0 - parseAge("--deleted-before", "90d"));
      const dry = await purgeDeleted(ctx, before, { apply: false });
      expect(dry).toMatchObject({ conversations: 1, messages: 3, users: 1, applied: false });
      const ids = async (table: string) =>
        (await store.queryRaw(sqlText(`SELECT id FROM ${table} WHERE app_id = '${app}' ORDER BY id`))).map(
          (r) => r.id,
        );
      expect(await ids("messages")).toHaveLength(5);
      expect(await purgeDeleted(ctx, before, { apply: true })).toMatchObject({
        conversations: 1,
        messages: 3,
        users: 1,
      });
      expect(await ids("conversations")).toEqual(["gone-recent", "live"]);
      expect(await ids("messages")).toEqual(["m4", "m5"]);
      expect(await ids("users")).toEqual(["u-live"]);
      const participants = await store.queryRaw(
        sqlText(
          `SELECT DISTINCT conversation_id FROM conversation_participants WHERE app_id = '${app}' ORDER BY conversation_id`,
        ),
      );
      expect(participants.map((r) => r.conversation_id)).toEqual(["gone-recent", "live"]);
      expect(() => parseAge("--deleted-before", "soon")).toThrow(/--deleted-before/);
    },
  );

  it.skipIf(skip)(
    "purge removes the purged messages' file references and the files only they point to; shared ones stay",
    async () => {
      const app = `purgefiles_${provider}`;
      const seenAt = new Date(T0 - 300 * 86_400_000);
      const dir = path.join(filesRoot, `purge-${provider}`);
      const blobs = new BlobDir(dir);
      await blobs.prepare();
      // Archives bytes as the files job does: on disk, then the reference stored with its blob row.
      const archive = async (messageId: string, blockIndex: number, text: string) => {
        const temp = await blobs.write(Readable.from([Buffer.from(text)]), 1 << 20);
        await blobs.commit(temp);
        const blob = { sha256: temp.sha256, size: temp.size, contentType: "text/plain", at: seenAt };
        expect(await store.files.recordStored(app, { messageId, blockIndex }, blob)).toBe(true);
        return temp.sha256;
      };
      await store.upsertConversations(
        app,
        ["gone", "live"].map((id) => makeConversation(id)),
        { seenAt },
      );
      const file = (url: string) => ({ type: "file", url, filename: url.split("/").pop(), size: 10 });
      await store.messages.upsert(
        app,
        [
          fileMessage("f1", "gone", { attachment: { url: "https://f.test/zq-purged-only.pdf", size: 10 } }),
          fileMessage("f2", "gone", { content: [file("https://f.test/zq-purged-shared.png")] }),
          fileMessage("f3", "live", { content: [file("https://f.test/live-copy.png")] }),
        ],
        { seenAt },
      );
      const onlySha = await archive("f1", -1, `only the purged message ${provider}`);
      const sharedSha = await archive("f2", 0, `shared with a live message ${provider}`);
      expect(await archive("f3", 0, `shared with a live message ${provider}`)).toBe(sharedSha);
      await store.markDeleted(app, ["gone"], new Date(T0 - 200 * 86_400_000));
      const ctx = {
        store,
        appId: app,
        logger: (await open("exclusive", { conversations: 0, burst: 0 })).ctx.logger,
      };
      const refs = async () =>
        (await store.queryRaw(messageFilesOf(app))).map((r) => `${String(r.message_id)}:${String(r.url)}`);
      const blobRows = async () =>
        (await store.queryRaw(sqlText("SELECT sha256 FROM file_blobs"))).map((r) => String(r.sha256));
      const refsBefore = await refs();
      expect(refsBefore).toHaveLength(3);
      const before = new Date(T0 - parseAge("--deleted-before", "90d"));

      const dry = await purgeDeleted(ctx, before, { apply: false });
      expect(dry).toMatchObject({ conversations: 1, messages: 2, fileRefs: 2, files: 1, applied: false });
      expect(await refs()).toEqual(refsBefore);
      expect(await blobRows()).toEqual(expect.arrayContaining([onlySha, sharedSha]));
      expect(existsSync(blobs.pathOf(onlySha))).toBe(true);
      // Without FILES_DIR the bytes could not be removed: refused, naming the setting, nothing changed.
      await expect(purgeDeleted(ctx, before, { apply: true })).rejects.toThrow(/FILES_DIR/);
      expect(await refs()).toEqual(refsBefore);

      expect(await purgeDeleted(ctx, before, { apply: true, filesDir: dir })).toMatchObject({
        conversations: 1,
        messages: 2,
        fileRefs: 2,
        files: 1,
        applied: true,
      });
      expect(await refs()).toEqual(["f3:https://f.test/live-copy.png"]);
      expect(await blobRows()).not.toContain(onlySha);
      expect(await blobRows()).toContain(sharedSha);
      expect(existsSync(blobs.pathOf(onlySha))).toBe(false);
      expect(existsSync(blobs.pathOf(sharedSha))).toBe(true);
      expect(await scan(store, ["zq-purged-only", "zq-purged-shared"])).toEqual([]);
      expect(await purgeDeleted(ctx, before, { apply: true })).toMatchObject({ fileRefs: 0, files: 0 });
    },
  );
});

/** A message of sender u1, long ago, with the given files (none: `{}`). */
function fileMessage(id: string, conversationId: string, files: Partial<Message>): Message {
  return {
    id,
    conversationId,
    type: "UserMessage",
    senderId: "u1",
    readBy: [],
    text: "t",
    attachment: null,
    location: null,
    origin: "rest",
    createdAt: T0 - 400 * 86_400_000,
    editedAt: null,
    referencedMessageId: null,
    custom: {},
    ...files,
  } as Message;
}

function makeUser(id: string) {
  return {
    id,
    name: id,
    welcomeMessage: null,
    photoUrl: null,
    headerPhotoUrl: null,
    role: null,
    email: null,
    phone: null,
    custom: {},
    availabilityText: null,
    locale: null,
    createdAt: T0,
  };
}
