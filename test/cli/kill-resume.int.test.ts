// A backfill killed with kill -9 never blocks the next one (issue 15 item 2): the run lock is one
// the kernel releases with the process (SQLite: an exclusive transaction on a lock file; PostgreSQL:
// a session advisory lock), so a rerun at once resumes — also while the killed process is an
// unreaped zombie, which a pid check (`kill(pid, 0)`) takes for alive.
import { type ChildProcess, spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startSimulator } from "../../src/simulator/index.ts";
import type { Simulator } from "../../src/simulator/types.ts";
import { openStore } from "../../src/store/store.ts";
import { freshDatabase, PROVIDERS, postgresAvailable, type TestDatabase } from "../helpers/db.ts";
import { expectMirrorEquals } from "../sync/harness.ts";
import { runCli } from "./run-cli.ts";

const root = fileURLToPath(new URL("../../", import.meta.url));

function processState(pid: number): string | null {
  try {
    // /proc/<pid>/stat: "pid (comm) S …" — the state letter follows the command in parentheses.
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3);
  } catch {
    return null;
  }
}

async function until(
  what: string,
  check: () => boolean | Promise<boolean>,
  timeoutMs = 30_000,
): Promise<void> {
  const start = Date.now();
  while (!(await check())) {
    if (Date.now() - start > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe.each(PROVIDERS)("kill -9 and rerun at once on %s", (provider) => {
  const skip = provider === "postgresql" && !postgresAvailable();
  let db: TestDatabase;
  let sim: Simulator;
  let env: Record<string, string>;
  const groups: ChildProcess[] = [];

  beforeAll(async () => {
    if (skip) return;
    db = await freshDatabase(provider);
    sim = await startSimulator({ conversations: 300, seed: 9, appId: `kill_${provider}`, latencyMs: 15 });
    env = {
      PATH: process.env.PATH ?? "",
      HOME: process.env.HOME ?? "",
      TALKJS_APP_ID: sim.appId,
      TALKJS_SECRET_KEY: sim.secretKey,
      TALKJS_API_URL: sim.url,
      TALKJS_RATE_LIMIT_PER_SECOND: "1000",
      TALKJS_RATE_LIMIT_BURST: "1000",
      DATABASE_URL: db.url,
      LOG_LEVEL: "warn",
      MIRROR_MESSAGES: "false",
    };
  });
  afterAll(async () => {
    for (const g of groups) {
      try {
        if (g.pid) process.kill(-g.pid, "SIGKILL");
      } catch {
        // already gone
      }
    }
    if (skip) return;
    await sim?.close();
    await db?.drop();
  });

  /** Starts `command` in a shell that is the leader of its own process group. */
  function group(command: string): ChildProcess & { out(): string } {
    const child = spawn("sh", ["-c", command], {
      cwd: root,
      env,
      detached: true,
      stdio: ["ignore", "pipe", "pipe"],
    });
    groups.push(child);
    let out = "";
    child.stdout?.setEncoding("utf8").on("data", (c: string) => {
      out += c;
    });
    child.stderr?.resume();
    return Object.assign(child, { out: () => out });
  }

  /** Waits until the running backfill has committed a few pages (its run row counts them per page). */
  async function committedPages(): Promise<void> {
    const store = await openStore({ url: db.url });
    try {
      await until("a few committed pages", async () => {
        const run = await store.lastRunOfKind(sim.appId, "backfill");
        return run?.status === "running" && run.pages >= 3;
      });
    } finally {
      await store.close();
    }
  }

  async function resumesAtOnce(): Promise<void> {
    const resumed = await runCli(["backfill", "--json", "--no-messages"], env);
    expect(resumed.stderr).not.toMatch(/RUN_LOCKED/);
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(JSON.parse(resumed.stdout)).toMatchObject({ kind: "backfill", resumed: true });
    const store = await openStore({ url: db.url });
    try {
      await expectMirrorEquals({ sim, appId: sim.appId }, store, { deletedMustBeMarked: true });
    } finally {
      await store.close();
    }
  }

  it.skipIf(skip)("the whole process group killed mid-backfill: the rerun resumes", async () => {
    sim.clearRequestLog();
    const g = group("exec node --import tsx src/cli.ts backfill --restart --quiet");
    await committedPages();
    process.kill(-(g.pid as number), "SIGKILL");
    await new Promise((r) => g.on("close", r));
    // The killed run's row shows what it committed: its counters advance with each page.
    const store = await openStore({ url: db.url });
    try {
      const [run] = await store.lastRuns(sim.appId, 1);
      expect(run?.status).toBe("running");
      expect(run?.inserted).toBe((await store.stats(sim.appId)).live);
      expect(run?.pages).toBeGreaterThanOrEqual(3);
    } finally {
      await store.close();
    }
    await resumesAtOnce();
  });

  it.skipIf(skip)("the killed backfill is an unreaped zombie: the rerun resumes", async () => {
    sim.clearRequestLog();
    // The shell starts the backfill in the background, prints its pid and becomes `sleep`, which
    // never reaps it: once killed, the backfill stays a zombie whose pid still "exists".
    const g = group("node --import tsx src/cli.ts backfill --restart --quiet & echo $!; exec sleep 600");
    await until("the backfill's pid", () => /^\d+\n/.test(g.out()));
    const pid = Number.parseInt(g.out(), 10);
    await committedPages();
    process.kill(pid, "SIGKILL");
    await until("the killed backfill to be a zombie", () => processState(pid) === "Z");
    expect(() => process.kill(pid, 0)).not.toThrow(); // what a pid check would take for "alive"
    await resumesAtOnce();
  });
});
