// Text that would break a hand-quoted SQL string — quotes, backslashes, semicolons, comment
// markers, unicode — fed through everything `report` and `export` put into a statement: the app
// id, the --by field, --since, and conversation, message and user ids read back for keyset paging.
// On PostgreSQL with standard_conforming_strings = off, where a backslash in a literal escapes the
// quote after it: values are bound as parameters, so every row is found and every value is intact.
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { exportCommand, reportCommand } from "../../src/analytics/commands.ts";
import { exportMirror } from "../../src/analytics/export.ts";
import { buildReport, type Report } from "../../src/analytics/report.ts";
import { ConfigError } from "../../src/errors.ts";
import { contentHash } from "../../src/store/hash.ts";
import { sql } from "../../src/store/sql/shared.ts";
import { openStore, type Store } from "../../src/store/store.ts";
import type { Conversation, Message } from "../../src/talkjs/types.ts";
import { freshDatabase, PROVIDERS, postgresAvailable, type TestDatabase } from "../helpers/db.ts";
import { makeConversation, T0 } from "../store/fixtures.ts";

/** Every character class a hand-quoted literal gets wrong somewhere, and a backslash before a quote. */
const NASTY = `it's \\' a "q"; -- x /* y */ ünï €𝄞 💬 \\`;
const APP = `app ${NASTY}`;
const FIELD = `cat ${NASTY}`;
const USER = `user ${NASTY}`;
const DAY = 86_400_000;

const ids = ["c '", "c \\", 'c "', "c ;", "c --", `c ${NASTY}`, "c ünï 💬", "c plain"];

function conversation(id: string, i: number): Conversation {
  return makeConversation(id, {
    subject: `subject ${NASTY}`,
    custom: i % 2 === 0 ? { [FIELD]: `v ${NASTY}` } : { [FIELD]: "plain", other: NASTY },
    participants: { [USER]: { access: "ReadWrite", notify: true }, bob: { access: "Read", notify: false } },
    lastMessage: null,
  });
}

function message(conversationId: string, k: number): Message {
  return {
    id: `m ${k} ${NASTY}`,
    conversationId,
    type: "UserMessage",
    // Alternating senders: every second message is a reply.
    senderId: k % 2 === 0 ? USER : "bob",
    readBy: [],
    text: `text ${NASTY}`,
    attachment: null,
    location: null,
    origin: "web",
    createdAt: T0 + k * 1000,
    editedAt: null,
    referencedMessageId: null,
    custom: { [FIELD]: NASTY },
  };
}

/** NDJSON lines → objects. */
const lines = (text: string): Record<string, unknown>[] =>
  text
    .trimEnd()
    .split("\n")
    .map((l) => JSON.parse(l) as Record<string, unknown>);

describe.each(PROVIDERS)("untrusted text in report and export on %s", (provider) => {
  const skip = provider === "postgresql" && !postgresAvailable();
  let db: TestDatabase;
  let store: Store;
  let dir: string;
  let env: Record<string, string>;
  const conversations = ids.map(conversation);
  const messages = ids.flatMap((id) => [0, 1, 2].map((k) => message(id, ids.indexOf(id) * 10 + k)));
  const deletedId = ids[1] as string;
  const live = conversations.filter((c) => c.id !== deletedId);
  // Half the rows are seen a day later: `--since` between the two keeps only those.
  const later = new Set(ids.filter((_, i) => i >= 4));

  beforeAll(async () => {
    if (skip) return;
    db = await freshDatabase(provider);
    if (provider === "postgresql") {
      // Every new session of this database then treats a backslash in a literal as an escape.
      const admin = new pg.Client({ connectionString: db.url });
      await admin.connect();
      const name = new URL(db.url).pathname.slice(1);
      await admin.query(`ALTER DATABASE "${name}" SET standard_conforming_strings = off`);
      await admin.end();
    }
    store = await openStore({ url: db.url });
    for (const seen of [T0, T0 + DAY]) {
      const at = seen === T0 ? (id: string) => !later.has(id) : (id: string) => later.has(id);
      await store.upsertConversations(
        APP,
        conversations.filter((c) => at(c.id)),
        { seenAt: new Date(seen) },
      );
      await store.messages.upsert(
        APP,
        messages.filter((m) => at(m.conversationId)),
        { seenAt: new Date(seen) },
      );
    }
    await store.markDeleted(APP, [deletedId], new Date(T0 + 2 * DAY));
    dir = mkdtempSync(path.join(os.tmpdir(), "talkjs-mirror-untrusted-"));
    env = { TALKJS_APP_ID: APP, DATABASE_URL: db.url, LOG_LEVEL: "warn" };
  });
  afterAll(async () => {
    if (skip) return;
    await store?.close();
    await db?.drop();
    rmSync(dir, { recursive: true, force: true });
  });

  it.skipIf(skip)("report --by custom.FIELD: every row found, every value intact", async () => {
    if (provider === "postgresql") {
      const [setting] = await store.queryRaw(sql`SHOW standard_conforming_strings`);
      expect(setting?.standard_conforming_strings).toBe("off");
    }
    let out = "";
    await reportCommand({ by: `custom.${FIELD}`, format: "json", top: "20" }, env, (line) => {
      out += line;
    });
    const report = JSON.parse(out) as Report;
    expect(report.appId).toBe(APP);
    expect(report.totals).toMatchObject({
      conversations: ids.length,
      live: ids.length - 1,
      deleted: 1,
      participants: 2,
      participations: 2 * (ids.length - 1),
    });
    const nasty = live.filter((c) => (c.custom as Record<string, string>)[FIELD] !== "plain").length;
    expect(report.byCustom).toEqual({
      field: FIELD,
      values: [
        { value: `v ${NASTY}`, conversations: nasty },
        { value: "plain", conversations: live.length - nasty },
      ].sort((a, b) => b.conversations - a.conversations || (a.value < b.value ? -1 : 1)),
    });
    expect(report.topParticipants.map((p) => p.userId).sort()).toEqual(["bob", USER].sort());
    // All of them dormant (T0 is long past): the oldest, in (activity, id) order, ids intact.
    expect(report.dormant.count).toBe(live.length);
    expect(report.dormant.oldest.map((c) => c.id).sort()).toEqual(live.map((c) => c.id).sort());
    expect(report.dormant.oldest.every((c) => c.subject === `subject ${NASTY}`)).toBe(true);
    const liveMessages = messages.filter((m) => m.conversationId !== deletedId);
    expect(report.messages.totals).toMatchObject({
      live: liveMessages.length,
      inDeletedConversations: messages.length - liveMessages.length,
      conversations: live.length,
      senders: 2,
    });
    expect(report.messages.topSenders.map((s) => s.senderId).sort()).toEqual(["bob", USER].sort());
    expect(report.messages.responseTimes.bySender.map((s) => s.senderId).sort()).toEqual(
      ["bob", USER].sort(),
    );
    expect(report.messages.responseTimes.replies).toBe(2 * live.length);
  });

  it.skipIf(skip)(
    "export --since --with-messages --include-deleted: the rows asked for, intact",
    async () => {
      const file = path.join(dir, "since.ndjson");
      const since = new Date(T0 + DAY / 2).toISOString();
      await exportCommand(
        { out: file, since, "with-messages": true, "include-deleted": true },
        env,
        () => {},
      );
      const got = lines(readFileSync(file, "utf8"));
      // Seen a day later, or deleted since: the later half and the deleted conversation.
      const changed = ids.filter((id) => later.has(id) || id === deletedId).sort();
      const conv = got.filter((l) => l.kind === "conversation");
      expect(conv.map((l) => l.id).sort()).toEqual(changed);
      for (const line of conv) {
        const { kind: _k, deleted_at: deletedAt, ...api } = line;
        expect(contentHash(api)).toBe(contentHash(conversations.find((c) => c.id === line.id)));
        expect(deletedAt).toBe(line.id === deletedId ? new Date(T0 + 2 * DAY).toISOString() : null);
      }
      const msgs = got.filter((l) => l.kind === "message");
      expect(msgs.map((l) => l.id).sort()).toEqual(
        messages
          .filter((m) => later.has(m.conversationId))
          .map((m) => m.id)
          .sort(),
      );
    },
  );

  it.skipIf(skip)("export pages through every id one row at a time (keyset on untrusted ids)", async () => {
    for (const includeDeleted of [false, true]) {
      const file = path.join(dir, `paged-${includeDeleted}.ndjson`);
      const summary = await exportMirror(store, APP, file, {
        withMessages: true,
        includeDeleted,
        pageSize: 1,
      });
      const got = lines(readFileSync(file, "utf8"));
      const want = includeDeleted ? conversations : live;
      const wantMessages = messages.filter((m) => includeDeleted || m.conversationId !== deletedId);
      expect(summary).toMatchObject({ conversations: want.length, messages: wantMessages.length });
      // Sorted here: PostgreSQL orders ids by its collation, SQLite by bytes; a broken keyset
      // would repeat or lose rows, which the comparison of the full lists shows.
      const exportedConversations = got.filter((l) => l.kind === "conversation");
      expect(exportedConversations.map((l) => l.id).sort()).toEqual(want.map((c) => c.id).sort());
      for (const line of exportedConversations) {
        const { kind: _k, deleted_at: _d, ...api } = line;
        expect(contentHash(api)).toBe(contentHash(want.find((c) => c.id === line.id)));
      }
      const exported = got.filter((l) => l.kind === "message");
      expect(exported.map((l) => l.id).sort()).toEqual(wantMessages.map((m) => m.id).sort());
      for (const line of exported) {
        const { kind: _k, deleted_at: _d, ...api } = line;
        expect(api).toEqual(messages.find((m) => m.id === line.id));
      }
    }
  });

  it.skipIf(skip)("--since that is not a date is refused by name; nothing is touched", async () => {
    const hostile = `2026-01-01'; DELETE FROM conversations; --`;
    await expect(
      exportCommand({ out: path.join(dir, "x.ndjson"), since: hostile }, env, () => {}),
    ).rejects.toMatchObject({
      code: "CONFIG_INVALID",
      setting: "--since",
    });
    const [row] = await store.queryRaw(sql`SELECT COUNT(*) AS n FROM conversations WHERE app_id = ${APP}`);
    expect(Number(row?.n)).toBe(ids.length);
  });

  it.skipIf(skip)("a NUL character gets a clean ConfigError naming where it came from", async () => {
    const withNul = { ...env, TALKJS_APP_ID: `app\u0000x` };
    const report = reportCommand({ format: "json" }, withNul, () => {});
    await expect(report).rejects.toBeInstanceOf(ConfigError);
    await expect(report).rejects.toMatchObject({ setting: "TALKJS_APP_ID", message: /NUL/ });
    await expect(
      exportCommand({ out: path.join(dir, "nul.ndjson") }, withNul, () => {}),
    ).rejects.toMatchObject({ code: "CONFIG_INVALID", setting: "TALKJS_APP_ID" });
    await expect(buildReport(store, APP, { byCustomField: `cat\u0000` })).rejects.toMatchObject({
      code: "CONFIG_INVALID",
      setting: "--by",
    });
  });
});
