// Every ```sql block in docs/schema.md must run on both databases (```sql postgresql / ```sql sqlite
// blocks only on that one). A documented query that fails is a bug.
import { readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Store } from "../../src/store/store.ts";
import { openStore } from "../../src/store/store.ts";
import { freshDatabase, PROVIDERS, postgresAvailable, sqlText, type TestDatabase } from "../helpers/db.ts";
import { makeConversation, T0 } from "./fixtures.ts";

const doc = readFileSync(new URL("../../docs/schema.md", import.meta.url), "utf8");
const blocks = [...doc.matchAll(/^```sql([^\n]*)\n([\s\S]*?)^```/gm)].map((m) => ({
  only: (m[1] ?? "").trim(),
  sql: (m[2] ?? "").trim().replace(/;\s*$/, ""),
}));

describe("docs/schema.md", () => {
  it("has example queries", () => {
    expect(blocks.filter((b) => b.only === "").length).toBeGreaterThanOrEqual(6);
  });
});

describe.each(PROVIDERS)("docs/schema.md queries on %s", (provider) => {
  const skip = provider === "postgresql" && !postgresAvailable();
  let db: TestDatabase;
  let store: Store;

  beforeAll(async () => {
    if (skip) return;
    db = await freshDatabase(provider);
    store = await openStore({ url: db.url });
    const convs = [
      makeConversation("d1"),
      makeConversation("d2", { custom: { category: "sales" }, createdAt: T0 + 86_400_000 }),
      makeConversation("d3", { lastMessage: null }),
    ];
    await store.upsertConversations("my_app", convs, {
      seenAt: new Date(T0),
      checkpoint: { stream: "activity", cursor: "{}" },
    });
    await store.markDeleted("my_app", ["d3"], new Date(T0 + 1));
    const run = await store.startRun("my_app", "activity");
    await store.finishRun(run, { status: "succeeded", counts: { pages: 1, fetched: 3, inserted: 3 } });
  });
  afterAll(async () => {
    if (skip) return;
    await store?.close();
    await db?.drop();
  });

  const mine = blocks.filter((b) => b.only === "" || b.only === provider);
  it.skipIf(skip).each(mine.map((b) => [b.sql.split("\n")[0] ?? "", b.sql]))("%s", async (_title, sql) => {
    const rows = await store.queryRaw(sqlText(sql));
    expect(Array.isArray(rows)).toBe(true);
  });

  it.skipIf(skip)("return the expected answers", async () => {
    const perApp = await store.queryRaw(sqlText(mine[0]?.sql ?? ""));
    expect(perApp.map((r) => [r.app_id, Number(r.live), Number(r.deleted)])).toEqual([["my_app", 2, 1]]);
    const categories = await store.queryRaw(
      sqlText(mine.find((b) => b.sql.includes("'category'"))?.sql ?? ""),
    );
    expect(categories.map((r) => [r.category, Number(r.conversations)])).toEqual([
      ["sales", 1],
      ["support", 1],
    ]);
    const days = await store.queryRaw(sqlText(mine.find((b) => b.only === provider)?.sql ?? ""));
    expect(days.map((r) => [r.day, Number(r.created)])).toEqual([
      ["2026-01-15", 2],
      ["2026-01-16", 1],
    ]);
  });
});
