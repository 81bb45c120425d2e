// Issue 16, items 7-8: database failures reach the operator as one line with a code (the same
// text sync_runs.error stores), and a SQLite mirror is in WAL mode from its creation, so an
// analyst's open read transaction never makes a run fail.
import { spawn } from "node:child_process";
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import Database from "better-sqlite3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createLogger } from "../../src/log.ts";
import { startSimulator } from "../../src/simulator/index.ts";
import type { Simulator } from "../../src/simulator/types.ts";
import { parseDatabaseUrl } from "../../src/store/database-url.ts";
import { openStore } from "../../src/store/store.ts";
import { recordedRun } from "../../src/sync/run.ts";
import type { TalkJSClient } from "../../src/talkjs/client.ts";
import { runCli } from "../cli/run-cli.ts";
import { makeConversation } from "../store/fixtures.ts";

const root = mkdtempSync(path.join(os.tmpdir(), "talkjs-mirror-dberr-"));
chmodSync(root, 0o755);
let sim: Simulator;
let env: Record<string, string>;
beforeAll(async () => {
  sim = await startSimulator({ conversations: 90, seed: 8, appId: "dberr" });
  env = {
    TALKJS_APP_ID: sim.appId,
    TALKJS_SECRET_KEY: sim.secretKey,
    TALKJS_API_URL: sim.url,
    TALKJS_RATE_LIMIT_PER_SECOND: "1000",
    TALKJS_RATE_LIMIT_BURST: "1000",
  };
});
afterAll(async () => {
  await sim?.close();
  chmodSync(path.join(root, "rodir"), 0o755);
  rmSync(root, { recursive: true, force: true });
});

/** The CLI as an unprivileged user (root ignores file modes). */
function runAsNobody(
  args: string[],
  extra: Record<string, string>,
): Promise<{ code: number | null; stderr: string }> {
  const child = spawn(process.execPath, ["--import", "tsx", "src/cli.ts", ...args], {
    cwd: fileURLToPath(new URL("../../", import.meta.url)),
    env: { PATH: process.env.PATH ?? "", HOME: os.tmpdir(), ...extra },
    stdio: ["ignore", "ignore", "pipe"],
    ...(process.getuid?.() === 0 ? { uid: 65534, gid: 65534 } : {}),
  });
  let stderr = "";
  child.stderr.on("data", (c: Buffer) => {
    stderr += c.toString("utf8");
  });
  return new Promise((resolve, reject) => {
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stderr }));
  });
}

function expectOneLine(stderr: string, code: string): void {
  const lines = stderr.trim().split("\n");
  expect(lines, stderr).toHaveLength(1);
  expect(lines[0]).toContain(`[${code}]`);
  expect(stderr).not.toMatch(/Invalid `|External error|\.rs:\d+|backtrace|DB_MIGRATION_FAILED/);
}

describe("a SQLite DATABASE_URL that cannot be used: one line with a code", () => {
  it("a directory in place of the file", async () => {
    mkdirSync(path.join(root, "dir.db"));
    const r = await runCli(["backfill", "--quiet"], { ...env, DATABASE_URL: `file:${root}/dir.db` });
    expect(r.code).toBe(1);
    expectOneLine(r.stderr, "DB_CANNOT_OPEN");
  });

  it("a file that is not SQLite", async () => {
    writeFileSync(path.join(root, "notes.db"), "these are my notes, not a database\n".repeat(40));
    const r = await runCli(["migrate"], { DATABASE_URL: `file:${root}/notes.db` });
    expect(r.code).toBe(1);
    expectOneLine(r.stderr, "DB_NOT_SQLITE");
  });

  it("a read-only directory", async () => {
    mkdirSync(path.join(root, "rodir"));
    chmodSync(path.join(root, "rodir"), 0o555);
    const r = await runAsNobody(["backfill", "--quiet"], {
      ...env,
      DATABASE_URL: `file:${root}/rodir/mirror.db`,
    });
    expect(r.code).toBe(1);
    expectOneLine(r.stderr, "DB_CANNOT_OPEN");
  });

  it("LOG_LEVEL=debug adds the raw detail on a second line", async () => {
    const r = await runCli(["migrate", "--log-level", "debug"], { DATABASE_URL: `file:${root}/notes.db` });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/\[DB_NOT_SQLITE\].*\n.*detail: .*not a database/);
  });
});

describe("SQLite WAL mode and the busy timeout", () => {
  it("a migrated file is in WAL mode; an open read transaction elsewhere does not make backfill fail", async () => {
    const url = `file:${root}/wal/mirror.db`;
    const migrated = await runCli(["migrate"], { DATABASE_URL: url });
    expect(migrated.code, migrated.stderr).toBe(0);
    // WAL mode is recorded in the file header: bytes 18-19 are 2.
    expect([...readFileSync(`${root}/wal/mirror.db`).subarray(18, 20)]).toEqual([2, 2]);
    // An analyst's sqlite3: a read transaction held open for the whole run.
    const analyst = new Database(`${root}/wal/mirror.db`, { readonly: true });
    analyst.exec("BEGIN");
    expect(analyst.prepare("SELECT COUNT(*) AS n FROM conversations").get()).toEqual({ n: 0 });
    try {
      const r = await runCli(["backfill", "--quiet", "--json"], {
        ...env,
        DATABASE_URL: url,
        SQLITE_BUSY_TIMEOUT_MS: "300",
      });
      expect(r.code, r.stderr).toBe(0);
      expect((JSON.parse(r.stdout) as { inserted: number }).inserted).toBe(90);
    } finally {
      analyst.exec("COMMIT");
      analyst.close();
    }
  });

  it("a writer still blocked after the busy timeout fails with DB_BUSY and the reason", async () => {
    const url = `file:${root}/busy/mirror.db`;
    expect((await runCli(["migrate"], { DATABASE_URL: url })).code).toBe(0);
    const other = new Database(`${root}/busy/mirror.db`);
    other.exec("BEGIN IMMEDIATE"); // another writer holds the write lock
    try {
      const r = await runCli(["backfill", "--quiet"], {
        ...env,
        DATABASE_URL: url,
        SQLITE_BUSY_TIMEOUT_MS: "200",
      });
      expect(r.code).toBe(1);
      expectOneLine(r.stderr, "DB_BUSY");
      expect(r.stderr).toMatch(/locked by another connection/);
    } finally {
      other.exec("ROLLBACK");
      other.close();
    }
  });

  it("sync_runs.error stores the same one line for a run that met a database error", async () => {
    const url = `file:${root}/runs/mirror.db`;
    expect((await runCli(["migrate"], { DATABASE_URL: url })).code).toBe(0);
    const store = await openStore(parseDatabaseUrl(url, { busyTimeoutMs: 100 }));
    const other = new Database(`${root}/runs/mirror.db`);
    try {
      const ctx = {
        store,
        appId: "runs",
        logger: createLogger({ level: "silent" }),
        client: {} as TalkJSClient,
      };
      const failed = recordedRun(ctx, "sync", async () => {
        other.exec("BEGIN IMMEDIATE");
        try {
          await store.upsertConversations("runs", [makeConversation("c1")], { seenAt: new Date() });
        } finally {
          other.exec("ROLLBACK");
        }
      });
      await expect(failed).rejects.toMatchObject({ code: "DB_BUSY" });
      const [run] = await store.lastRuns("runs", 1);
      expect(run?.status).toBe("failed");
      expect(run?.error).toMatch(/^\[DB_BUSY\] [^\n]+$/);
    } finally {
      other.close();
      await store.close();
    }
  });
});
