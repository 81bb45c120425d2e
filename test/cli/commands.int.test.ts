// The one-shot commands as a user runs them: real child processes, a simulator on loopback, a
// SQLite file and the real PostgreSQL, settings from the environment, flags and a config file.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startSimulator } from "../../src/simulator/index.ts";
import type { Simulator } from "../../src/simulator/types.ts";
import { openStore } from "../../src/store/store.ts";
import { BACKFILL_STREAM } from "../../src/sync/streams.ts";
import { freshDatabase, PROVIDERS, postgresAvailable, type TestDatabase } from "../helpers/db.ts";
import { expectMirrorEquals, listingRequests } from "../sync/harness.ts";
import { runCli, spawnCli } from "./run-cli.ts";

describe.each(PROVIDERS)("commands on %s", (provider) => {
  const skip = provider === "postgresql" && !postgresAvailable();
  let db: TestDatabase;
  let sim: Simulator;
  let env: Record<string, string>;

  beforeAll(async () => {
    if (skip) return;
    db = await freshDatabase(provider);
    sim = await startSimulator({ conversations: 600, seed: 5, appId: `cli_${provider}`, latencyMs: 15 });
    env = {
      TALKJS_APP_ID: sim.appId,
      TALKJS_SECRET_KEY: sim.secretKey,
      TALKJS_API_URL: sim.url,
      TALKJS_RATE_LIMIT_PER_SECOND: "1000",
      TALKJS_RATE_LIMIT_BURST: "1000",
      DATABASE_URL: db.url,
      LOG_LEVEL: "warn",
    };
  });
  /** Conversation listing requests of a whole backfill pass, into a scratch SQLite file. */
  async function listingRequestsOfAFullPass(): Promise<number> {
    const dir = mkdtempSync(path.join(os.tmpdir(), "full-pass-"));
    try {
      sim.clearRequestLog();
      const full = await runCli(["backfill", "--no-messages", "--quiet"], {
        ...env,
        DATABASE_URL: `file:${path.join(dir, "full.db")}`,
      });
      expect(full.code, full.stderr).toBe(0);
      return listingRequests(sim);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }

  afterAll(async () => {
    if (skip) return;
    await sim?.close();
    await db?.drop();
  });

  it.skipIf(skip)(
    "backfill killed with SIGKILL mid-pass resumes on the next run with fewer requests",
    async () => {
      const child = spawnCli(["backfill"], env);
      let stderr = "";
      child.stderr?.on("data", (c: string) => {
        stderr += c;
      });
      // Kill it mid-pass, after a few pages (the simulator answers each in ≥ 15 ms). The test
      // keeps no connection to the database meanwhile: only the child touches it.
      sim.clearRequestLog();
      for (let i = 0; listingRequests(sim) < 8; i++) {
        if (i > 600) throw new Error(`backfill did not make progress: ${stderr}`);
        await new Promise((r) => setTimeout(r, 20));
      }
      child.kill("SIGKILL");
      await new Promise((r) => child.on("close", r));
      const store = await openStore({ url: db.url });
      try {
        const before = (await store.stats(sim.appId)).live;
        expect(before).toBeGreaterThanOrEqual(30);
        expect(before).toBeLessThan(600);
        expect((await store.getSyncState(sim.appId, BACKFILL_STREAM))?.cursor).not.toBeNull();

        sim.clearRequestLog();
        const resumed = await runCli(["backfill", "--json"], env);
        expect(resumed.code).toBe(0);
        expect(resumed.stderr).toMatch(/earlier runs had stopped without finishing/);
        const summary = JSON.parse(resumed.stdout) as { resumed: boolean; inserted: number };
        expect(summary.resumed).toBe(true);
        expect(summary.inserted).toBe(600 - before);
        // Only the rest is fetched. Measured against a full pass of the same listing (into a
        // scratch file): every page of 30 the killed run committed is a page the resume does
        // not ask again, give or take the boundary re-asks (each page overlaps the last one's
        // boundary millisecond, and a tie group longer than a page costs its own re-asks).
        const resumedRequests = listingRequests(sim);
        const fullPassRequests = await listingRequestsOfAFullPass();
        expect(resumedRequests).toBeLessThan(fullPassRequests);
        expect(resumedRequests).toBeLessThanOrEqual(fullPassRequests - Math.floor(before / 30) + 2);
        await expectMirrorEquals({ sim, appId: sim.appId }, store, { deletedMustBeMarked: true });
        const runs = await store.lastRuns(sim.appId, 5);
        // The killed run is closed as "abandoned" by the next run (which holds the lock); that one
        // succeeded, and so did the message and users passes after it.
        expect(runs.map((r) => `${r.kind}:${r.status}`)).toEqual([
          "users:succeeded",
          "messages:succeeded",
          "backfill:succeeded",
          "backfill:abandoned",
        ]);
      } finally {
        await store.close();
      }
    },
  );

  it.skipIf(skip)("sync, reconcile and status print results, and --json for scripts", async () => {
    const ids = sim
      .allConversations()
      .map((c) => c.id)
      .sort();
    sim.addMessage(ids[10] as string, { senderId: "u1", text: "new" });
    sim.deleteConversation(ids[20] as string);
    const sync = await runCli(["sync"], { ...env, SYNC_CLOCK_SKEW_MS: "1000" });
    expect(sync.code).toBe(0);
    expect(sync.stdout).toMatch(/^Sync finished: \d+ conversations in \d+ pages/);
    const reconcile = await runCli(["reconcile", "--json"], env);
    expect(reconcile.code).toBe(0);
    expect(JSON.parse(reconcile.stdout)).toMatchObject({ kind: "reconcile", markedDeleted: 1 });
    const status = await runCli(["status", "--json"], { ...env, TALKJS_SECRET_KEY: "" });
    expect(status.code).toBe(0);
    const s = JSON.parse(status.stdout) as { live: number; deleted: number; backfillComplete: boolean };
    expect(s).toMatchObject({ live: 599, deleted: 1, backfillComplete: true });
    const human = await runCli(["status"], env);
    expect(human.stdout).toMatch(/599 live conversations, 1 deleted/);
    expect(human.stdout).toMatch(/reconcile\s+#\d+ succeeded/);
  });

  it.skipIf(skip)(
    "backfill --concurrency pages several windows and lists every conversation once",
    async () => {
      const live = sim.allConversations().length;
      const result = await runCli(
        ["backfill", "--restart", "--concurrency", "3", "--no-messages", "--json"],
        env,
      );
      expect(result.code).toBe(0);
      expect(JSON.parse(result.stdout)).toMatchObject({
        kind: "backfill",
        windows: 3,
        fetched: live,
      });
      // The human summary names the windows; a second pass over the same app changes nothing.
      const human = await runCli(["backfill", "--restart", "--concurrency", "2", "--no-messages"], env);
      expect(human.code).toBe(0);
      expect(human.stdout).toMatch(
        new RegExp(
          `^Backfill finished \\(2 windows\\): ${live} conversations in \\d+ pages \\(0 new, 0 updated, ${live} unchanged\\)`,
        ),
      );
    },
  );

  it.skipIf(skip)("flags win over the environment, which wins over a config file", async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), "talkjs-mirror-cfg-"));
    try {
      const file = path.join(dir, "mirror.json");
      writeFileSync(file, JSON.stringify({ TALKJS_APP_ID: "from-file", LOG_LEVEL: "silent" }));
      // The file's app id is overridden by --app; nothing else is needed from the environment.
      const status = await runCli(["status", "--json", "--config", file, "--app", sim.appId], {
        DATABASE_URL: db.url,
      });
      expect(status.code).toBe(0);
      expect(JSON.parse(status.stdout)).toMatchObject({ appId: sim.appId });
      const fromFile = await runCli(["status", "--json", "--config", file], { DATABASE_URL: db.url });
      expect(JSON.parse(fromFile.stdout)).toMatchObject({ appId: "from-file", live: 0 });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("command errors", () => {
  it("missing or invalid settings: exit 2, one line naming the setting; secrets never printed", async () => {
    const missing = await runCli(["sync"], { DATABASE_URL: "file:/nonexistent-dir/x.db" });
    expect(missing.code).toBe(2);
    expect(missing.stderr.trim().split("\n")).toHaveLength(1);
    expect(missing.stderr).toMatch(/TALKJS_APP_ID: is required/);

    const bad = await runCli(["sync"], {
      TALKJS_APP_ID: "a",
      TALKJS_SECRET_KEY: "sk_test_supersecret",
      TALKJS_PAGE_SIZE: "lots",
    });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/TALKJS_PAGE_SIZE: "lots" is not a whole number/);

    const share = await runCli(["reconcile", "--max-delete-share", "2"], {
      TALKJS_APP_ID: "a",
      TALKJS_SECRET_KEY: "sk_test_supersecret",
    });
    expect(share.code).toBe(2);
    expect(share.stderr).toMatch(/RECONCILE_MAX_DELETE_SHARE/);

    const wrong = await runCli(["sync", "--restart"], {});
    expect(wrong.code).toBe(2);
    expect(wrong.stderr).toMatch(/--restart/);

    const windows = await runCli(["backfill", "--concurrency", "0"], {
      TALKJS_APP_ID: "a",
      TALKJS_SECRET_KEY: "sk_test_supersecret",
    });
    expect(windows.code).toBe(2);
    expect(windows.stderr).toMatch(/BACKFILL_CONCURRENCY/);
    const notBackfill = await runCli(["reconcile", "--concurrency", "4"], {});
    expect(notBackfill.code).toBe(2);
    expect(notBackfill.stderr).toMatch(/--concurrency: only applies to backfill/);
  });

  it("a TalkJS that rejects the key: exit 1, a clear message, the key redacted", async () => {
    const sim = await startSimulator({ conversations: 5 });
    const dir = mkdtempSync(path.join(os.tmpdir(), "talkjs-mirror-cli-"));
    try {
      const result = await runCli(["backfill"], {
        TALKJS_APP_ID: sim.appId,
        TALKJS_SECRET_KEY: "sk_test_wrongwrongwrong",
        TALKJS_AUTH_MODE: "secret-key",
        TALKJS_API_URL: sim.url,
        DATABASE_URL: `file:${path.join(dir, "m.db")}`,
        LOG_LEVEL: "silent",
      });
      expect(result.code).toBe(1);
      expect(result.stderr).toMatch(/401.*check TALKJS_SECRET_KEY/);
      expect(result.stderr + result.stdout).not.toContain("sk_test_wrongwrongwrong");
    } finally {
      await sim.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
