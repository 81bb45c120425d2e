// report and export against a mirror the real engine built from the simulator, on SQLite and
// PostgreSQL: every number is checked against the simulator, every export option against the
// source, and the failure paths leave no file behind.
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { Writable } from "node:stream";
import { gunzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { exportMirror, parseSince } from "../../src/analytics/export.ts";
import { renderHtml } from "../../src/analytics/html.ts";
import { bar, renderCsv, renderTable } from "../../src/analytics/render.ts";
import { buildReport, dayRange, parseByFlag } from "../../src/analytics/report.ts";
import { canonicalJson, contentHash } from "../../src/store/hash.ts";
import type { Sql } from "../../src/store/sql/shared.ts";
import type { Store } from "../../src/store/store.ts";
import { runSync } from "../../src/sync/incremental.ts";
import { runMessagePass } from "../../src/sync/messages.ts";
import { PROVIDERS, useStore } from "../helpers/db.ts";
import { SKEW_MS } from "../sync/harness.ts";
import { byKey, liveMessages, median, type Seeded, seedMirror, simulatorReplies } from "./seed.ts";

const DAY = 86_400_000;
const utcDay = (ms: number) => new Date(ms).toISOString().slice(0, 10);
describe("report pieces", () => {
  it("dayRange ends today (UTC) and is oldest first", () => {
    const now = Date.UTC(2026, 2, 1, 0, 30);
    expect(dayRange(now, 3)).toEqual(["2026-02-27", "2026-02-28", "2026-03-01"]);
  });
  it("bars scale to the maximum in eighths", () => {
    expect(bar(10, 10, 4)).toBe("████");
    expect(bar(5, 10, 4)).toBe("██");
    expect(bar(1, 80, 1)).toBe("▏");
    expect(bar(0, 10, 4)).toBe("");
  });
  it("--by accepts custom.FIELD only, naming the flag otherwise", () => {
    expect(parseByFlag("custom.category")).toBe("category");
    expect(() => parseByFlag("subject")).toThrow(/--by: "subject" is not supported: use custom.FIELD/);
  });
  it("--since accepts a date or a date-time and names the flag otherwise", () => {
    expect(parseSince("2026-01-31").toISOString()).toBe("2026-01-31T00:00:00.000Z");
    expect(parseSince("2026-01-31T12:00:00+02:00").toISOString()).toBe("2026-01-31T10:00:00.000Z");
    expect(() => parseSince("yesterday")).toThrow(/--since: "yesterday" is not a date/);
  });
});

describe.each(PROVIDERS)("report and export on %s", (provider) => {
  const fixture = useStore(provider);
  const { skip } = fixture;
  let store: Store;
  let seeded: Seeded;
  let dir: string;

  beforeAll(async () => {
    if (skip) return;
    store = fixture.store;
    seeded = await seedMirror(store);
    dir = mkdtempSync(path.join(os.tmpdir(), "talkjs-mirror-export-"));
  });
  // Runs before the fixture closes the store (after-hooks run in reverse order).
  afterAll(async () => {
    if (skip) return;
    await seeded?.h.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it.skipIf(skip)("report numbers equal the simulator's", async () => {
    const { live, deletedIds, h } = seeded;
    const now = Date.now();
    const report = await buildReport(store, h.appId, {
      days: 14,
      top: 5,
      dormantDays: 60,
      byCustomField: "category",
      now,
    });
    expect(report.totals).toMatchObject({
      conversations: live.length + deletedIds.length,
      live: live.length,
      deleted: deletedIds.length,
      liveWithoutMessages: live.filter((c) => c.lastMessage === null).length,
      participations: live.reduce((s, c) => s + Object.keys(c.participants).length, 0),
      participants: new Set(live.flatMap((c) => Object.keys(c.participants))).size,
    });
    // Per day: created and latest activity of every conversation the mirror has (deleted ones too).
    const all = [...live, ...deletedIds.map((id) => ({ id }))];
    expect(report.daily.map((d) => d.day)).toEqual(dayRange(now, 14));
    const activity = (c: (typeof live)[number]) => c.lastMessage?.createdAt ?? c.createdAt;
    for (const d of report.daily) {
      expect(d.created).toBeGreaterThanOrEqual(live.filter((c) => utcDay(c.createdAt) === d.day).length);
      expect(d.active).toBeGreaterThanOrEqual(live.filter((c) => utcDay(activity(c)) === d.day).length);
    }
    expect(report.daily.reduce((s, d) => s + d.created, 0)).toBeLessThanOrEqual(all.length);
    expect(report.daily.at(-1)?.deleted).toBe(deletedIds.length);
    expect(report.deletions).toEqual({ total: deletedIds.length, inPeriod: deletedIds.length });

    const counts = new Map<string, number>();
    for (const c of live)
      for (const u of Object.keys(c.participants)) counts.set(u, (counts.get(u) ?? 0) + 1);
    const expectedTop = [...counts].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).slice(0, 5);
    expect(report.topParticipants.map((p) => [p.userId, p.conversations])).toEqual(expectedTop);

    const byCategory = new Map<string | null, number>();
    for (const c of live)
      byCategory.set(c.custom.category ?? null, (byCategory.get(c.custom.category ?? null) ?? 0) + 1);
    expect(new Map(report.byCustom?.values.map((v) => [v.value, v.conversations]))).toEqual(byCategory);

    const dormant = live.filter((c) => activity(c) < now - 60 * DAY);
    expect(report.dormant.count).toBe(dormant.length);
    const oldest = dormant.sort((a, b) => activity(a) - activity(b) || (a.id < b.id ? -1 : 1)).slice(0, 5);
    expect(report.dormant.oldest.map((d) => d.id)).toEqual(oldest.map((c) => c.id));

    expect(report.freshness.backfillComplete).toBe(true);
    expect(report.freshness.lastRuns.reconcile?.markedDeleted).toBe(deletedIds.length);
    expect(report.freshness.newestActivityAt).toBe(new Date(Math.max(...live.map(activity))).toISOString());
  });

  it.skipIf(skip)("message numbers equal the simulator's: per day, top senders, response times", async () => {
    const { h, deletedMessageIds, messagesOfDeletedConversations } = seeded;
    const now = Date.now();
    const report = await buildReport(store, h.appId, { days: 21, top: 5, now });
    const messages = liveMessages(seeded);
    const senders = messages.filter((m) => m.senderId !== null).map((m) => m.senderId as string);
    const range = dayRange(now, 21);
    const perDay = range.map((day) => messages.filter((m) => utcDay(m.createdAt) === day).length);
    expect(report.messages.totals).toEqual({
      live: messages.length,
      deleted: deletedMessageIds.length,
      inDeletedConversations: messagesOfDeletedConversations.length,
      inPeriod: perDay.reduce((a, b) => a + b, 0),
      conversations: new Set(messages.map((m) => m.conversationId)).size,
      senders: new Set(senders).size,
    });
    expect(messages.length).toBeGreaterThan(5_000);
    expect(report.messages.daily.map((d) => [d.day, d.messages])).toEqual(
      range.map((d, i) => [d, perDay[i]]),
    );
    expect(report.messages.daily.at(-1)?.messages).toBeGreaterThanOrEqual(14); // the seed's own messages today

    const counts = new Map<string, number>();
    for (const s of senders) counts.set(s, (counts.get(s) ?? 0) + 1);
    const top = [...counts].sort((a, b) => b[1] - a[1] || byKey(a[0], b[0])).slice(0, 5);
    expect(report.messages.topSenders.map((s) => [s.senderId, s.messages])).toEqual(top);
    const first = report.messages.topSenders[0];
    const theirs = messages.filter((m) => m.senderId === first?.senderId);
    expect(first?.conversations).toBe(new Set(theirs.map((m) => m.conversationId)).size);
    expect(first?.lastMessageAt).toBe(new Date(Math.max(...theirs.map((m) => m.createdAt))).toISOString());

    const replies = simulatorReplies(messages);
    expect(replies.length).toBeGreaterThan(1_000);
    const rt = report.messages.responseTimes;
    expect(rt.replies).toBe(replies.length);
    expect(rt.medianMs).toBe(median(replies.map((r) => r.ms)));
    expect(rt.daily.map((d) => [d.day, d.replies, d.medianMs])).toEqual(
      range.map((day) => {
        const of = replies.filter((r) => r.day === day).map((r) => r.ms);
        return [day, of.length, of.length === 0 ? null : median(of)];
      }),
    );
    const bySender = new Map<string, number[]>();
    for (const r of replies) bySender.set(r.senderId, [...(bySender.get(r.senderId) ?? []), r.ms]);
    const expectedBySender = [...bySender]
      .sort((a, b) => b[1].length - a[1].length || byKey(a[0], b[0]))
      .slice(0, 5)
      .map(([id, ms]) => [id, ms.length, median(ms)]);
    expect(rt.bySender.map((s) => [s.senderId, s.replies, s.medianMs])).toEqual(expectedBySender);
  });

  it.skipIf(skip)("table, csv and html carry the same numbers", async () => {
    const report = await buildReport(store, seeded.h.appId, { days: 7, byCustomField: "category" });
    const table = renderTable(report);
    expect(table).toContain(`  live:                   ${report.totals.live.toLocaleString("en-US")}`);
    expect(table).toMatch(/Conversations created per day\n {2}\d{4}-\d{2}-\d{2}/);
    expect(table).toContain("Live conversations by custom.category");
    expect(table).toMatch(/█/);

    const csv = renderCsv(report).split("\n");
    expect(csv[0]).toBe("section,key,value");
    expect(csv).toContain(`totals,live,${report.totals.live}`);
    expect(csv).toContain(`deletions,total,${report.deletions.total}`);
    expect(csv.filter((l) => l.startsWith("created_per_day,"))).toHaveLength(7);
    const top = report.topParticipants[0];
    expect(csv).toContain(`top_participants,${top?.userId},${top?.conversations}`);

    const html = renderHtml(report);
    expect(html).toMatch(/^<!doctype html>/);
    expect(html).not.toMatch(/<script|https?:\/\/(?!www\.w3\.org)/);
    expect(html.match(/<svg /g)?.length).toBe(8);
    const m = report.messages;
    expect(table).toMatch(/Messages per day\n {2}\d{4}-\d{2}-\d{2}/);
    expect(table).toContain(`  live messages:          ${m.totals.live.toLocaleString("en-US")} in`);
    expect(table).toContain(`Top senders (live messages, all time; top ${m.topSenders.length})`);
    expect(table).toMatch(/ {2}median: {17}\S.* over [\d,]+ replies/);
    const today = m.daily.at(-1);
    expect(csv).toContain(`messages_per_day,${today?.day},${today?.messages}`);
    expect(csv).toContain(`messages,live,${m.totals.live}`);
    expect(csv).toContain(`top_senders,${m.topSenders[0]?.senderId},${m.topSenders[0]?.messages}`);
    expect(csv).toContain(`response_time,median_ms,${m.responseTimes.medianMs}`);
    expect(csv.filter((l) => l.startsWith("response_median_ms_per_day,"))).toHaveLength(7);
    expect(html).toContain("<figcaption>Messages per day</figcaption>");
    expect(html).toContain(`${today?.day}: ${today?.messages}</title>`);
    expect(html).toContain(`<td>${m.responseTimes.bySender[0]?.senderId}</td>`);
    expect(html).toContain(`<b>${report.totals.live.toLocaleString("en-US")}</b>live conversations`);
    expect(html).toContain(`${report.daily.at(-1)?.day}: ${report.daily.at(-1)?.created}`);
  });

  it.skipIf(skip)("an empty app reports zeros instead of failing", async () => {
    const report = await buildReport(store, "nobody_here", { days: 3, byCustomField: "category" });
    expect(report.totals).toEqual({
      conversations: 0,
      live: 0,
      deleted: 0,
      liveWithMessages: 0,
      liveWithoutMessages: 0,
      participants: 0,
      participations: 0,
    });
    expect(report.daily.map((d) => d.created)).toEqual([0, 0, 0]);
    expect(report.byCustom?.values).toEqual([]);
    expect(report.messages.totals).toEqual({
      live: 0,
      deleted: 0,
      inDeletedConversations: 0,
      inPeriod: 0,
      conversations: 0,
      senders: 0,
    });
    expect(report.messages.topSenders).toEqual([]);
    expect(report.messages.responseTimes).toMatchObject({ replies: 0, medianMs: null, bySender: [] });
    expect(report.messages.responseTimes.daily.map((d) => d.medianMs)).toEqual([null, null, null]);
    expect(renderTable(report)).toContain("Messages\n  none mirrored");
    expect(renderCsv(report)).toContain("response_time,median_ms,\n");
    expect(renderTable(report)).toContain("Dormant: 0 live conversations");
    expect(renderHtml(report)).toContain("<p>None.</p>");
  });

  const readNdjson = (text: string) =>
    text
      .trimEnd()
      .split("\n")
      .map((l) => JSON.parse(l) as { id: string; deleted_at: string | null });

  it.skipIf(skip)(
    "export writes every live conversation once, as TalkJS returned it, across many keyset pages",
    async () => {
      const file = path.join(dir, "live.ndjson");
      const summary = await exportMirror(store, seeded.h.appId, file, { pageSize: 7 });
      const lines = readNdjson(readFileSync(file, "utf8"));
      expect(summary).toMatchObject({ conversations: seeded.live.length, deleted: 0, out: file });
      expect(summary.pages).toBe(Math.ceil(seeded.live.length / 7));
      const byId = new Map(lines.map((l) => [l.id, l]));
      expect(byId.size).toBe(lines.length);
      for (const c of seeded.live)
        expect(canonicalJson(byId.get(c.id))).toBe(canonicalJson({ ...c, deleted_at: null }));
      expect(readdirSync(dir)).toEqual(["live.ndjson"]);
    },
  );

  it.skipIf(skip)(
    "--include-deleted adds the deleted ones with deleted_at; --since keeps only recent changes",
    async () => {
      const sink: string[] = [];
      const stream = new Writable({
        write(chunk, _e, cb) {
          sink.push(String(chunk));
          cb();
        },
      });
      const all = await exportMirror(store, seeded.h.appId, stream, { includeDeleted: true, pageSize: 50 });
      const lines = readNdjson(sink.join(""));
      expect(all.conversations).toBe(seeded.live.length + seeded.deletedIds.length);
      expect(
        lines
          .filter((l) => l.deleted_at !== null)
          .map((l) => l.id)
          .sort(),
      ).toEqual([...seeded.deletedIds].sort());
      for (const l of lines.filter((x) => x.deleted_at !== null))
        expect(Date.parse(l.deleted_at as string)).toBeGreaterThan(0);

      // Everything was written by the seed a moment ago: since an hour ago → all; since tomorrow → none.
      const recent = await exportMirror(store, seeded.h.appId, path.join(dir, "recent.ndjson"), {
        includeDeleted: true,
        since: new Date(Date.now() - 3_600_000),
      });
      expect(recent.conversations).toBe(all.conversations);
      const future = await exportMirror(store, seeded.h.appId, path.join(dir, "future.ndjson"), {
        includeDeleted: true,
        since: new Date(Date.now() + DAY),
      });
      expect(future.conversations).toBe(0);
      expect(readFileSync(path.join(dir, "future.ndjson"), "utf8")).toBe("");
    },
  );

  type Line = Record<string, unknown> & { kind: string; id: string; deleted_at: string | null };
  const collect = () => {
    const sink: string[] = [];
    const stream = new Writable({
      write(chunk, _e, cb) {
        sink.push(String(chunk));
        cb();
      },
    });
    return {
      stream,
      lines: () =>
        sink
          .join("")
          .trimEnd()
          .split("\n")
          .filter(Boolean)
          .map((l) => JSON.parse(l) as Line),
    };
  };
  /** The API object a line carries: the line without the export's own fields. */
  const apiObject = ({ kind: _k, deleted_at: _d, ...rest }: Line) => rest;

  it.skipIf(skip)(
    "--with-messages: every live message once, as TalkJS returned it (content hash), after the conversations",
    async () => {
      const out = collect();
      const summary = await exportMirror(store, seeded.h.appId, out.stream, {
        withMessages: true,
        pageSize: 37,
      });
      const lines = out.lines();
      const expected = liveMessages(seeded);
      expect(summary).toMatchObject({
        conversations: seeded.live.length,
        deleted: 0,
        messages: expected.length,
        deletedMessages: 0,
        pages: Math.ceil(seeded.live.length / 37) + Math.ceil(expected.length / 37),
      });
      const kinds = lines.map((l) => l.kind);
      expect(kinds.indexOf("message")).toBe(seeded.live.length);
      expect(kinds.lastIndexOf("conversation")).toBe(seeded.live.length - 1);
      expect(lines).toHaveLength(seeded.live.length + expected.length);

      const conversations = new Map(lines.filter((l) => l.kind === "conversation").map((l) => [l.id, l]));
      for (const c of seeded.live)
        expect(contentHash(apiObject(conversations.get(c.id) as Line))).toBe(contentHash(c));
      const messageLines = lines.filter((l) => l.kind === "message");
      const byId = new Map(messageLines.map((l) => [l.id, l]));
      expect(byId.size).toBe(messageLines.length); // no message twice, across tied createdAt on page edges
      for (const m of expected) {
        const line = byId.get(m.id);
        expect(line?.deleted_at, m.id).toBeNull();
        expect(contentHash(apiObject(line as Line)), m.id).toBe(contentHash(m));
      }
      // Grouped by conversation, each history oldest first.
      const seen = new Set<string>();
      for (let i = 0; i < messageLines.length; i++) {
        const m = messageLines[i] as Line;
        const prev = messageLines[i - 1];
        if (prev?.conversationId !== m.conversationId) {
          expect(seen.has(String(m.conversationId))).toBe(false);
          seen.add(String(m.conversationId));
        } else expect(Number(m.createdAt)).toBeGreaterThanOrEqual(Number(prev?.createdAt));
      }
    },
  );

  it.skipIf(skip)(
    "--with-messages --include-deleted adds deleted messages (with deleted_at) and those of deleted conversations",
    async () => {
      const out = collect();
      const summary = await exportMirror(store, seeded.h.appId, out.stream, {
        withMessages: true,
        includeDeleted: true,
        pageSize: 200,
      });
      const messageLines = out.lines().filter((l) => l.kind === "message");
      const live = liveMessages(seeded);
      expect(summary.messages).toBe(
        live.length + seeded.deletedMessageIds.length + seeded.messagesOfDeletedConversations.length,
      );
      expect(summary.deletedMessages).toBe(seeded.deletedMessageIds.length);
      expect(
        messageLines
          .filter((l) => l.deleted_at !== null)
          .map((l) => l.id)
          .sort(),
      ).toEqual([...seeded.deletedMessageIds].sort());
      const byId = new Map(messageLines.map((l) => [l.id, l]));
      for (const m of seeded.messagesOfDeletedConversations) {
        expect(byId.get(m.id)?.deleted_at).toBeNull();
        expect(contentHash(apiObject(byId.get(m.id) as Line))).toBe(contentHash(m));
      }
    },
  );

  it.skipIf(skip)("a .gz name gzips; the content is the same as the plain export", async () => {
    const plain = path.join(dir, "plain.ndjson");
    const gz = path.join(dir, "packed.ndjson.gz");
    await exportMirror(store, seeded.h.appId, plain);
    await exportMirror(store, seeded.h.appId, gz);
    const packed = readFileSync(gz);
    expect(packed.subarray(0, 2)).toEqual(Buffer.from([0x1f, 0x8b]));
    expect(gunzipSync(packed).toString("utf8")).toBe(readFileSync(plain, "utf8"));
  });

  it.skipIf(skip)("a failure mid-export leaves neither the file nor a temp file", async () => {
    let calls = 0;
    const failing = new Proxy(store, {
      get(target, prop, receiver) {
        if (prop === "queryRaw") {
          return async (query: Sql) => {
            if (++calls === 3) throw new Error("connection lost");
            return target.queryRaw(query);
          };
        }
        const value = Reflect.get(target, prop, receiver) as unknown;
        return typeof value === "function" ? value.bind(target) : value;
      },
    });
    const sub = mkdtempSync(path.join(dir, "fail-"));
    const target = path.join(sub, "out.ndjson");
    await expect(exportMirror(failing, seeded.h.appId, target, { pageSize: 10 })).rejects.toMatchObject({
      code: "EXPORT_FAILED",
      message: expect.stringMatching(/nothing was written under that name.*connection lost/),
    });
    expect(readdirSync(sub)).toEqual([]);
    await expect(
      exportMirror(store, seeded.h.appId, path.join(dir, "no/such/dir/x.ndjson")),
    ).rejects.toMatchObject({
      code: "EXPORT_FAILED",
    });
  });

  // Last in this block: it changes the simulated app (earlier tests compare against the seed).
  it.skipIf(skip)("--with-messages --since keeps only the messages changed since then", async () => {
    const { h } = seeded;
    const future = collect();
    const none = await exportMirror(store, h.appId, future.stream, {
      withMessages: true,
      includeDeleted: true,
      since: new Date(Date.now() + DAY),
    });
    expect(none).toMatchObject({ conversations: 0, messages: 0 });

    const mark = new Date();
    await new Promise((resolve) => setTimeout(resolve, 5)); // the mirror's clock must pass `mark`
    const target = seeded.live.find((c) => c.lastMessage !== null && !c.id.startsWith("fresh"));
    const added = h.sim.addMessage(target?.id as string, { senderId: "user_00003", text: "Any news?" });
    await runSync(h.ctx, { clockSkewMs: SKEW_MS });
    await runMessagePass(h.ctx);
    const out = collect();
    const summary = await exportMirror(store, h.appId, out.stream, { withMessages: true, since: mark });
    expect(summary).toMatchObject({ conversations: 1, messages: 1 });
    const [conversation, message] = out.lines();
    expect(conversation).toMatchObject({ kind: "conversation", id: target?.id });
    expect(message).toMatchObject({ kind: "message", id: added.id, deleted_at: null });
    expect(contentHash(apiObject(message as Line))).toBe(contentHash(added));
  });
});
