// `report`, `export` and `demo` as a user runs them: real child processes (report/export) against
// a mirror built by the engine, on SQLite and PostgreSQL; the demo in-process end to end.
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { gunzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runDemo } from "../../src/demo.ts";
import { contentHash } from "../../src/store/hash.ts";
import { sql } from "../../src/store/sql/shared.ts";
import { openStore, type Store } from "../../src/store/store.ts";
import { runCli } from "../cli/run-cli.ts";
import { PROVIDERS, useStore } from "../helpers/db.ts";
import { liveMessages, type Seeded, seedMirror } from "./seed.ts";

describe.each(PROVIDERS)("report and export commands on %s", (provider) => {
  const fixture = useStore(provider);
  const { skip } = fixture;
  let store: Store;
  let seeded: Seeded;
  let dir: string;
  let env: Record<string, string>;

  beforeAll(async () => {
    if (skip) return;
    store = fixture.store;
    seeded = await seedMirror(store, 300);
    dir = mkdtempSync(path.join(os.tmpdir(), "talkjs-mirror-cmd-"));
    env = { TALKJS_APP_ID: seeded.h.appId, DATABASE_URL: fixture.db.url, LOG_LEVEL: "warn" };
  });
  // Runs before the fixture closes the store (after-hooks run in reverse order).
  afterAll(async () => {
    if (skip) return;
    await seeded?.h.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it.skipIf(skip)("report: table by default, --format json|csv, --by, --days, --html", async () => {
    const live = seeded.live.length;
    const table = await runCli(["report", "--days", "5", "--by", "custom.category"], env);
    expect(table.code).toBe(0);
    expect(table.stdout).toContain(`  live:                   ${live}`);
    expect(table.stdout).toContain("Live conversations by custom.category");
    expect(table.stdout.match(/^ {2}\d{4}-\d{2}-\d{2} /gm)?.length).toBeGreaterThanOrEqual(10);

    const html = path.join(dir, "report.html");
    const json = await runCli(["report", "--format", "json", "--top", "3", "--html", html], env);
    expect(json.code).toBe(0);
    const report = JSON.parse(json.stdout) as {
      totals: { live: number; deleted: number };
      topParticipants: unknown[];
    };
    expect(report.totals).toMatchObject({ live, deleted: seeded.deletedIds.length });
    expect(report.topParticipants).toHaveLength(3);
    expect(json.stderr).toContain(`HTML report written to ${html}`);
    expect(readFileSync(html, "utf8")).toContain(`<b>${live}</b>live conversations`);

    const csv = await runCli(["report", "--format", "csv"], env);
    expect(csv.code).toBe(0);
    expect(csv.stdout.split("\n")).toContain(`totals,live,${live}`);
    // --json (the common flag) means --format json.
    expect(JSON.parse((await runCli(["report", "--json"], env)).stdout).totals.live).toBe(live);
  });

  it.skipIf(skip)("export: --out - to stdout, --gzip to a file, --include-deleted", async () => {
    const out = await runCli(["export", "--out", "-"], env);
    expect(out.code).toBe(0);
    const ids = out.stdout
      .trimEnd()
      .split("\n")
      .map((l) => (JSON.parse(l) as { id: string }).id);
    expect(ids.sort()).toEqual(seeded.live.map((c) => c.id).sort());
    expect(out.stderr).toMatch(
      new RegExp(`Exported ${seeded.live.length} conversations \\(0 deleted\\) to stdout`),
    );

    const file = path.join(dir, "all.ndjson.gz");
    const gz = await runCli(["export", "--out", file, "--gzip", "--include-deleted", "--json"], env);
    expect(gz.code).toBe(0);
    expect(JSON.parse(gz.stdout)).toMatchObject({
      conversations: seeded.live.length + seeded.deletedIds.length,
      deleted: seeded.deletedIds.length,
    });
    expect(gunzipSync(readFileSync(file)).toString().trimEnd().split("\n")).toHaveLength(
      seeded.live.length + seeded.deletedIds.length,
    );
  });

  it.skipIf(skip)(
    "export --with-messages: kind on every line, messages after conversations, summary",
    async () => {
      const messages = liveMessages(seeded);
      const out = await runCli(["export", "--out", "-", "--with-messages"], env);
      expect(out.code).toBe(0);
      const lines = out.stdout
        .trimEnd()
        .split("\n")
        .map((l) => JSON.parse(l) as Record<string, unknown> & { kind: string; id: string });
      expect(lines.map((l) => l.kind)).toEqual([
        ...seeded.live.map(() => "conversation"),
        ...messages.map(() => "message"),
      ]);
      const exported = new Map(
        lines.filter((l) => l.kind === "message").map(({ kind: _k, deleted_at: _d, ...m }) => [m.id, m]),
      );
      // Every live message exported exactly as TalkJS returned it; a difference is shown whole.
      const differing = messages
        .filter((m) => contentHash(exported.get(m.id)) !== contentHash(m))
        .map((m) => ({ simulator: m, exported: exported.get(m.id) }));
      expect(differing).toEqual([]);
      expect(out.stderr).toContain(
        `Exported ${seeded.live.length} conversations (0 deleted) and ${messages.length.toLocaleString("en-US")} messages (0 deleted) to stdout.`,
      );
      const report = await runCli(["report", "--days", "3", "--format", "json"], env);
      expect(JSON.parse(report.stdout).messages.totals.live).toBe(messages.length);
      const table = await runCli(["report", "--days", "3"], env);
      expect(table.stdout).toMatch(/Messages per day\n {2}\d{4}-\d{2}-\d{2} /);
      expect(table.stdout).toContain("Response times");
    },
  );

  it.skipIf(skip)("bad options exit 2 with one line naming the flag; nothing is written", async () => {
    const format = await runCli(["report", "--format", "pdf"], env);
    expect(format.code).toBe(2);
    expect(format.stderr.trim().split("\n")).toHaveLength(1);
    expect(format.stderr).toMatch(/--format: "pdf" is not one of table, json, csv/);
    expect((await runCli(["report", "--by", "subject"], env)).stderr).toMatch(/--by: .*custom\.FIELD/);
    expect((await runCli(["report", "--days", "0"], env)).stderr).toMatch(
      /--days: must be a whole number from 1/,
    );
    const noOut = await runCli(["export"], env);
    expect(noOut.code).toBe(2);
    expect(noOut.stderr).toMatch(/--out: is required/);
    const since = await runCli(["export", "--out", path.join(dir, "x.ndjson"), "--since", "soon"], env);
    expect(since.code).toBe(2);
    expect(since.stderr).toMatch(/--since: "soon" is not a date/);
    expect(readdirSync(dir)).not.toContain("x.ndjson");
    const noApp = await runCli(["report"], { DATABASE_URL: fixture.db.url });
    expect(noApp.code).toBe(2);
    expect(noApp.stderr).toMatch(/TALKJS_APP_ID: is required/);
  });
});

describe("demo", () => {
  it("backs up a simulated app, verifies it row by row and prints the real report", async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), "talkjs-mirror-demo-"));
    const lines: string[] = [];
    try {
      const file = path.join(dir, "demo.db");
      await runDemo(["--conversations", "400", "--seed", "9", "--database", `file:${file}`], (l) =>
        lines.push(l),
      );
      const text = lines.join("\n");
      const verified = /Mirror verified: ([\d,]+) live, (\d+) deleted, ([\d,]+) messages, 0 differences/.exec(
        text,
      );
      expect(verified).not.toBeNull();
      // 400 generated + 8 created − 2 deleted by the demo's "live moment" (size = 400/100 = 4).
      expect(verified?.[1]).toBe("406");
      expect(verified?.[2]).toBe("2");
      expect(Number(verified?.[3]?.replaceAll(",", ""))).toBeGreaterThan(1_000);
      expect(text).toMatch(/^ {2}messages {3}[\d]+ messages in \d+ pages/m);
      // Every attachment archived beside the database and checked against the simulator's bytes.
      const files =
        /^Files verified: ([\d,]+) attachments archived as ([\d,]+) files .* in (\S+), each checked by its sha256$/m.exec(
          text,
        );
      expect(Number(files?.[1]?.replaceAll(",", ""))).toBeGreaterThan(20);
      expect(files?.[3]).toBe(path.join(dir, "demo-files"));
      expect(text).toMatch(/^backfill {3}400 conversations/m);
      expect(text).toMatch(/^reconcile .*2 marked deleted$/m);
      // `verify` over the same mirror: all 408 rows (fewer than its sample of 500), messages included.
      expect(text).toMatch(
        /^verify {5}408 of 408 conversations sampled against TalkJS: 406 matching, 0 newer, 0 differing, 2 still deleted; every conversation was checked: exactly 0 of 408 \(0%\) differ$/m,
      );
      expect(text).toMatch(/^users {6}\d+ users in \d+ pages: \d+ new/m);
      // The restore round trip into the simulator's second app, mirrored back and compared.
      expect(text).toMatch(
        /^restore {4}restored 406 conversations and [\d,]+ user messages into app demo-copy in \d+ imports, with [\d,]+ files re-uploaded \([\d,]+ not archived\) \(.*\); round trip: 0 differences beyond the documented list; [\d,]+ system messages not restorable$/m,
      );
      // The report section is the real report over the same file.
      expect(text).toContain("  live:                   406");
      expect(text).toContain("  deleted at TalkJS:      2");
      expect(text).toContain("Live conversations by custom.category");
      expect(text).toMatch(/Conversations created per day\n {2}\d{4}-\d{2}-\d{2}/);
      // Runs: backfill, sync and reconcile, each followed by its message pass.
      expect(text).toMatch(/last reconcile\s+#5 succeeded/);
      const store = await openStore({ url: `file:${file}` });
      try {
        const [row] = await store.queryRaw(sql`SELECT SUM(1 - is_deleted) AS live FROM v_conversations`);
        expect(Number(row?.live)).toBe(406);
      } finally {
        await store.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("refuses a non-SQLite --database naming the flag", async () => {
    await expect(runDemo(["--database", "postgresql://x@127.0.0.1/db"], () => {})).rejects.toThrow(
      /--database: the demo writes a SQLite file/,
    );
  });
});
