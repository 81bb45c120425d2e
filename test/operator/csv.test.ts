// Issue 16, item 4: report --format csv neutralises spreadsheet formulas (OWASP CSV injection).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { csvField, renderCsv } from "../../src/analytics/render.ts";
import { buildReport } from "../../src/analytics/report.ts";
import { openStore, type Store } from "../../src/store/store.ts";
import { freshDatabase, PROVIDERS, postgresAvailable, type TestDatabase } from "../helpers/db.ts";
import { makeConversation } from "../store/fixtures.ts";

const FORMULAS = [
  '=HYPERLINK("http://evil.example","click")',
  "+1+cmd|' /C calc'!A0",
  "-2+3",
  "@SUM(A1:A9)",
  "\tx",
  "\rx",
];

describe("csvField", () => {
  it.each(FORMULAS)("%j becomes inert text: a leading ' inside a quoted field", (value) => {
    const field = csvField(value);
    expect(field.startsWith(`"'`)).toBe(true);
    // Reading the field back (RFC 4180) gives the value behind the '.
    expect(field.slice(2, -1).replaceAll('""', '"')).toBe(value);
  });

  it("leaves ordinary text and numbers alone", () => {
    expect(csvField("plain")).toBe("plain");
    expect(csvField(-3)).toBe("-3");
    expect(csvField(42)).toBe("42");
    expect(csvField("a,b")).toBe('"a,b"');
    expect(csvField(null)).toBe("");
  });
});

describe.each(PROVIDERS)("report --format csv on %s", (provider) => {
  const skip = provider === "postgresql" && !postgresAvailable();
  let db: TestDatabase;
  let store: Store;
  beforeAll(async () => {
    if (skip) return;
    db = await freshDatabase(provider);
    store = await openStore({ url: db.url });
  });
  afterAll(async () => {
    await store?.close();
    await db?.drop();
  });

  it.skipIf(skip)("no cell of a report over hostile data starts with a formula character", async () => {
    const list = FORMULAS.map((f, i) =>
      makeConversation(`c${i}`, {
        subject: f,
        custom: { category: f },
        participants: { [f]: { access: "ReadWrite", notify: true } },
      }),
    );
    await store.upsertConversations("csv_app", list, { seenAt: new Date() });
    const report = await buildReport(store, "csv_app", { byCustomField: "category" });
    const csv = renderCsv(report);
    const cells = csv.split("\n").flatMap((line) => line.split(","));
    for (const cell of cells) expect(cell.replace(/^"/, "")).not.toMatch(/^[=+@\t\r]|^-(?!\d+$)/);
    expect(csv).toContain(`"'=HYPERLINK(""http://evil.example""`);
  });
});
