// Every ```sql block in docs/analytics.md must run on both databases AND return rows on a mirror
// that has the data it asks about: a documented query that fails or answers nothing is a bug.
// A few answers are also checked against the simulator, the source the mirror copies.
import { readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openStore, type Store } from "../../src/store/store.ts";
import { freshDatabase, PROVIDERS, postgresAvailable, sqlText, type TestDatabase } from "../helpers/db.ts";
import { byKey, liveMessages, median, type Seeded, seedMirror, simulatorReplies } from "./seed.ts";

const doc = readFileSync(new URL("../../docs/analytics.md", import.meta.url), "utf8");
const blocks = [...doc.matchAll(/^```sql([^\n]*)\n([\s\S]*?)^```/gm)].map((m) => ({
  info: (m[1] ?? "").trim(),
  sql: (m[2] ?? "").trim().replace(/;\s*$/, ""),
}));
const find = (needle: string): string => {
  const block = blocks.find((b) => b.sql.includes(needle));
  if (!block) throw new Error(`docs/analytics.md has no query containing ${needle}`);
  return block.sql;
};
const num = (v: unknown): number => Number(v);

describe("docs/analytics.md", () => {
  it("has a dozen example queries, all portable (no dialect-specific blocks)", () => {
    expect(blocks.length).toBeGreaterThanOrEqual(12);
    expect(blocks.filter((b) => b.info !== "")).toEqual([]);
  });
});

describe.each(PROVIDERS)("docs/analytics.md queries on %s", (provider) => {
  const skip = provider === "postgresql" && !postgresAvailable();
  let db: TestDatabase;
  let store: Store;
  let seeded: Seeded;
  const run = (sql: string) =>
    store.queryRaw(sqlText(sql, { placeholder: "'my_app'", value: seeded.h.appId }));

  beforeAll(async () => {
    if (skip) return;
    db = await freshDatabase(provider);
    store = await openStore({ url: db.url });
    seeded = await seedMirror(store);
  });
  afterAll(async () => {
    if (skip) return;
    await seeded?.h.close();
    await store?.close();
    await db?.drop();
  });

  it.skipIf(skip).each(blocks.map((b) => [b.sql.split("\n")[0] ?? "", b.sql]))(
    "%s … runs and returns rows",
    async (_title, sql) => {
      const rows = await run(sql);
      expect(rows.length).toBeGreaterThan(0);
    },
  );

  it.skipIf(skip)("answer what the simulator says", async () => {
    const { live, deletedIds } = seeded;
    const [totals] = (await run(find("live_without_messages"))).filter((r) => r.app_id === seeded.h.appId);
    expect(num(totals?.live)).toBe(live.length);
    expect(num(totals?.deleted)).toBe(deletedIds.length);
    expect(num(totals?.live_without_messages)).toBe(live.filter((c) => c.lastMessage === null).length);

    const categories = await run(find("AS category"));
    const expected = new Map<string, number>();
    for (const c of live) {
      const v = c.custom.category;
      if (v !== undefined) expected.set(v, (expected.get(v) ?? 0) + 1);
    }
    expect(new Map(categories.map((r) => [String(r.category), num(r.conversations)]))).toEqual(expected);

    const today = new Date().toISOString().slice(0, 10);
    const daily = await run(find("FROM v_daily_activity"));
    const todayRow = daily.find((r) => r.day === today);
    expect(num(todayRow?.created)).toBe(
      live.filter((c) => new Date(c.createdAt).toISOString().startsWith(today)).length +
        deletedIds.filter((id) => id.startsWith("fresh")).length,
    );
    expect(num(todayRow?.deleted)).toBe(deletedIds.length);

    const deletions = await run(find("deleted_day AS day"));
    expect(deletions.map((r) => [r.day, num(r.deleted)])).toEqual([[today, deletedIds.length]]);

    const top = await run(find("SUM(sent_last_message)"));
    const counts = new Map<string, number>();
    for (const c of live)
      for (const u of Object.keys(c.participants)) counts.set(u, (counts.get(u) ?? 0) + 1);
    const best = Math.max(...counts.values());
    expect(num(top[0]?.conversations)).toBe(best);
    expect(counts.get(String(top[0]?.user_id))).toBe(best);

    const sizes = await run(find("participant_count, COUNT(*)"));
    expect(sizes.reduce((s, r) => s + num(r.conversations), 0)).toBe(live.length);

    const runs = await run(find("FROM v_sync_runs"));
    // Each conversation pass is followed by its message pass (the reconcile by two deep ones:
    // the second confirms deletions the first could not prove, see seed.ts).
    expect(runs.map((r) => r.kind)).toEqual([
      "messages",
      "messages",
      "reconcile",
      "messages",
      "sync",
      "messages",
      "backfill",
    ]);
    expect(runs.every((r) => r.status === "succeeded" && num(r.duration_ms) >= 0)).toBe(true);
  });

  it.skipIf(skip)("message queries answer what the simulator says", async () => {
    const messages = liveMessages(seeded);
    const today = new Date().toISOString().slice(0, 10);
    const daily = await run(find("FROM v_daily_messages"));
    const todayRow = daily.find((r) => r.day === today);
    const sentToday = messages.filter((m) => new Date(m.createdAt).toISOString().startsWith(today));
    expect(num(todayRow?.messages)).toBe(sentToday.length);
    expect(num(todayRow?.senders)).toBe(new Set(sentToday.map((m) => m.senderId).filter(Boolean)).size);

    const counts = new Map<string, number>();
    for (const m of messages) if (m.senderId) counts.set(m.senderId, (counts.get(m.senderId) ?? 0) + 1);
    const top = [...counts].sort((a, b) => b[1] - a[1] || byKey(a[0], b[0])).slice(0, 10);
    const senders = await run(find("last_day\nFROM v_live_messages"));
    expect(senders.map((r) => [r.sender_id, num(r.messages)])).toEqual(top);

    const perConversation = new Map<string, number>();
    for (const m of messages)
      perConversation.set(m.conversationId, (perConversation.get(m.conversationId) ?? 0) + 1);
    const busiest = await run(find("first_day"));
    expect(num(busiest[0]?.messages)).toBe(Math.max(...perConversation.values()));
    expect(perConversation.get(String(busiest[0]?.conversation_id))).toBe(num(busiest[0]?.messages));

    const replies = simulatorReplies(messages);
    const [overall] = await run(find("COUNT(*) OVER () AS n"));
    expect(num(overall?.replies)).toBe(replies.length);
    expect(Math.round(num(overall?.median_response_ms))).toBe(median(replies.map((r) => r.ms)));
    const perSender = await run(find("PARTITION BY sender_id"));
    const mostReplies = Math.max(...perSender.map((r) => num(r.replies)));
    const first = String(perSender[0]?.sender_id);
    expect(num(perSender[0]?.replies)).toBe(mostReplies);
    expect(Math.round(num(perSender[0]?.median_response_ms))).toBe(
      median(replies.filter((r) => r.senderId === first).map((r) => r.ms)),
    );
    // The seed's question at now-5 min and its answer at now-1 min: one reply of 4 minutes today.
    const withinHour = await run(find("within_an_hour"));
    const todays = replies.filter((r) => r.day === today);
    const row = withinHour.find((r) => r.day === today);
    expect(num(row?.replies)).toBe(todays.length);
    expect(num(row?.within_an_hour)).toBe(todays.filter((r) => r.ms < 3_600_000).length);
    expect(todays.some((r) => r.ms === 240_000 && r.senderId === "user_00002")).toBe(true);

    const found = await run(find("lower(text) LIKE"));
    const shipping = messages.filter((m) => m.text.toLowerCase().includes("ship"));
    expect(found).toHaveLength(Math.min(20, shipping.length));
    expect(found.every((r) => String(r.text).toLowerCase().includes("ship"))).toBe(true);

    const deleted = await run(find("had_been_edited"));
    expect(deleted.map((r) => [r.day, num(r.deleted)])).toEqual([[today, seeded.deletedMessageIds.length]]);
  });
});
