// Issue 16, items 5-6: status, report and export only read. Pointed at a missing file or a
// database that is not a (current) mirror they fail in one line with exit 2 and create nothing;
// on a read-only file — a WAL-mode one whose -shm/-wal cannot be created included — they work.
import { spawn } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import Database from "better-sqlite3";
import pg from "pg";
import { afterAll, describe, expect, it } from "vitest";
import { ConfigError } from "../../src/errors.ts";
import { parseDatabaseUrl } from "../../src/store/database-url.ts";
import { openStore } from "../../src/store/store.ts";
import { runCli } from "../cli/run-cli.ts";
import { emptyDatabase, freshDatabase, postgresAvailable } from "../helpers/db.ts";
import { makeConversation } from "../store/fixtures.ts";

const READERS: string[][] = [["status"], ["report"], ["export", "--out", "-"]];
const root = mkdtempSync(path.join(os.tmpdir(), "talkjs-mirror-ro-"));
chmodSync(root, 0o755); // the unprivileged runs below reach into it
afterAll(() => {
  chmodSync(root, 0o755);
  for (const entry of readdirSync(root)) chmodSync(path.join(root, entry), 0o755);
  rmSync(root, { recursive: true, force: true });
});

function oneLine(stderr: string): string {
  const lines = stderr.trim().split("\n");
  expect(lines, stderr).toHaveLength(1);
  return lines[0] as string;
}

describe("DATABASE_URL file paths", () => {
  it("file:~/… is the home directory; file://host/… is refused with the file:/// hint", () => {
    expect(parseDatabaseUrl("file:~/m/mirror.db", { home: "/home/ann" }).filePath).toBe(
      "/home/ann/m/mirror.db",
    );
    expect(parseDatabaseUrl("file://localhost/tmp/a.db").filePath).toBe("/tmp/a.db");
    expect(parseDatabaseUrl("file:///tmp/b.db").filePath).toBe("/tmp/b.db");
    for (const url of ["file://data/mirror.db", "file:~bob/mirror.db"]) {
      expect(() => parseDatabaseUrl(url)).toThrow(ConfigError);
    }
    expect(() => parseDatabaseUrl("file://data/mirror.db")).toThrow(/file:\/\/\/absolute\/path\.db/);
  });
});

describe("reading commands on a missing SQLite file", () => {
  it.each(READERS)("%s: exit 2, one line naming the URL and the fix; nothing created", async (...args) => {
    const dir = path.join(root, `typo-${args[0]}`);
    const url = `file:${dir}/sub/mirror.db`;
    const r = await runCli(args, { TALKJS_APP_ID: "app", DATABASE_URL: url });
    expect(r.code, r.stderr).toBe(2);
    const line = oneLine(r.stderr);
    expect(line).toContain("DB_MISSING");
    expect(line).toContain(`${dir}/sub/mirror.db`);
    expect(line).toContain("talkjs-mirror backfill");
    expect(r.stdout).toBe("");
    expect(existsSync(dir)).toBe(false);
  });

  it("file://data/… is refused before anything is opened (exit 2)", async () => {
    const r = await runCli(["status"], { TALKJS_APP_ID: "app", DATABASE_URL: "file://data/mirror.db" });
    expect(r.code).toBe(2);
    expect(oneLine(r.stderr)).toContain("file:///");
  });
});

describe("reading commands on a SQLite file that is not a current mirror", () => {
  it("a pending migration: exit 2 telling to run migrate; the file is not migrated", async () => {
    const db = await freshDatabase("sqlite");
    try {
      const file = parseDatabaseUrl(db.url).filePath as string;
      const raw = new Database(file);
      const last = raw
        .prepare("SELECT migration_name FROM _prisma_migrations ORDER BY migration_name DESC")
        .get() as {
        migration_name: string;
      };
      raw.prepare("DELETE FROM _prisma_migrations WHERE migration_name = ?").run(last.migration_name);
      raw.close();
      for (const args of READERS) {
        const r = await runCli(args, { TALKJS_APP_ID: "app", DATABASE_URL: db.url });
        expect(r.code, r.stderr).toBe(2);
        const line = oneLine(r.stderr);
        expect(line).toContain("DB_MIGRATION_PENDING");
        expect(line).toContain(last.migration_name);
        expect(line).toContain("talkjs-mirror migrate");
      }
      const after = new Database(file, { readonly: true });
      expect(
        after
          .prepare("SELECT COUNT(*) AS n FROM _prisma_migrations WHERE migration_name = ?")
          .get(last.migration_name),
      ).toEqual({ n: 0 });
      after.close();
    } finally {
      await db.drop();
    }
  });

  it("an empty file (not migrated): exit 2, DB_NOT_MIGRATED, no table created", async () => {
    const file = path.join(root, "empty.db");
    new Database(file).close();
    const r = await runCli(["status"], { TALKJS_APP_ID: "app", DATABASE_URL: `file:${file}` });
    expect(r.code, r.stderr).toBe(2);
    expect(oneLine(r.stderr)).toMatch(/DB_NOT_MIGRATED.*talkjs-mirror migrate/);
    const raw = new Database(file, { readonly: true });
    expect(raw.prepare("SELECT COUNT(*) AS n FROM sqlite_master").get()).toEqual({ n: 0 });
    raw.close();
  });
});

describe.skipIf(!postgresAvailable())("reading commands on the wrong PostgreSQL database", () => {
  it("exit 2 naming the masked URL; no table is created there", async () => {
    const db = await emptyDatabase("postgresql");
    try {
      const url = `${db.url}?password=Secret_pw1`;
      for (const args of READERS) {
        const r = await runCli(args, { TALKJS_APP_ID: "app", DATABASE_URL: url });
        expect(r.code, r.stderr).toBe(2);
        const line = oneLine(r.stderr);
        expect(line).toContain("DB_NOT_MIGRATED");
        expect(line).toContain("password=***");
        expect(line).not.toContain("Secret_pw1");
      }
      const c = new pg.Client({ connectionString: db.url });
      await c.connect();
      const tables = await c.query("SELECT count(*)::int AS n FROM pg_tables WHERE schemaname = 'public'");
      await c.end();
      expect(tables.rows[0]).toEqual({ n: 0 });
    } finally {
      await db.drop();
    }
  });
});

/** The CLI as an unprivileged user (root ignores file modes), so read-only files really are. */
function runAsNobody(
  args: string[],
  env: Record<string, string>,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, ["--import", "tsx", "src/cli.ts", ...args], {
    cwd: fileURLToPath(new URL("../../", import.meta.url)),
    env: { PATH: process.env.PATH ?? "", HOME: os.tmpdir(), ...env },
    stdio: ["ignore", "pipe", "pipe"],
    ...(process.getuid?.() === 0 ? { uid: 65534, gid: 65534 } : {}),
  });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (c: Buffer) => {
    stdout += c.toString("utf8");
  });
  child.stderr.on("data", (c: Buffer) => {
    stderr += c.toString("utf8");
  });
  return new Promise((resolve, reject) => {
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stdout, stderr }));
  });
}

describe("reading commands on a read-only SQLite mirror", () => {
  it("a WAL-mode file in a read-only directory: status, report and export work, saying the view may be stale", async () => {
    const dir = path.join(root, "readonly-wal");
    mkdirSync(dir);
    const url = `file:${dir}/mirror.db`;
    const { migrateDatabase } = await import("../../src/store/migrate.ts");
    await migrateDatabase(parseDatabaseUrl(url));
    const store = await openStore({ url });
    await store.upsertConversations("ro_app", [makeConversation("c1"), makeConversation("c2")], {
      seenAt: new Date(),
    });
    await store.close();
    // WAL mode is recorded in the header (bytes 18-19 = 2), and a clean close left no -wal/-shm.
    expect(readFileSync(`${dir}/mirror.db`).subarray(18, 20)).toEqual(Buffer.from([2, 2]));
    expect(readdirSync(dir)).toEqual(["mirror.db"]);
    chmodSync(`${dir}/mirror.db`, 0o444);
    chmodSync(dir, 0o555);
    const env = { TALKJS_APP_ID: "ro_app", DATABASE_URL: url };
    const status = await runAsNobody(["status", "--json"], env);
    expect(status.code, status.stderr).toBe(0);
    expect((JSON.parse(status.stdout) as { live: number }).live).toBe(2);
    expect(status.stderr).toMatch(/immutable.*may be stale/);
    const report = await runAsNobody(["report", "--format", "json"], env);
    expect(report.code, report.stderr).toBe(0);
    const exported = await runAsNobody(["export", "--out", "-"], env);
    expect(exported.code, exported.stderr).toBe(0);
    expect(exported.stdout.trim().split("\n")).toHaveLength(2);
    expect(readdirSync(dir)).toEqual(["mirror.db"]);
  });

  it("a read-only file in a writable directory opens read-only, without the stale note", async () => {
    const dir = path.join(root, "readonly-file");
    mkdirSync(dir);
    const url = `file:${dir}/mirror.db`;
    const { migrateDatabase } = await import("../../src/store/migrate.ts");
    await migrateDatabase(parseDatabaseUrl(url));
    chmodSync(`${dir}/mirror.db`, 0o444);
    chmodSync(dir, 0o777);
    const r = await runAsNobody(["status"], { TALKJS_APP_ID: "ro_app", DATABASE_URL: url });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).not.toMatch(/stale/);
  });
});
