// `talkjs-mirror run` as real processes, the way a container runs it: SIGTERM mid-backfill
// leaves no half-written page and a checkpoint the next run resumes from; a second signal exits at
// once; two replicas never work at once and the survivor takes over when the other is killed.
import type { ChildProcess } from "node:child_process";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startSimulator } from "../../src/simulator/index.ts";
import type { Simulator } from "../../src/simulator/types.ts";
import { sql } from "../../src/store/sql/shared.ts";
import { openStore } from "../../src/store/store.ts";
import { BACKFILL_STREAM } from "../../src/sync/streams.ts";
import { runCli, spawnCli } from "../cli/run-cli.ts";
import { freshDatabase, PROVIDERS, postgresAvailable, type TestDatabase } from "../helpers/db.ts";
import { waitFor } from "../helpers/wait.ts";
import { expectMirrorEquals, listingRequests } from "../sync/harness.ts";

interface Spawned {
  child: ChildProcess;
  /** JSON log lines written to stdout so far. */
  lines: Record<string, unknown>[];
  stderr: () => string;
  exited: Promise<{ code: number | null; at: number }>;
}

function spawnWorker(env: Record<string, string>): Spawned {
  const child = spawnCli(["run"], env);
  const lines: Record<string, unknown>[] = [];
  let buffer = "";
  let stderr = "";
  child.stdout?.on("data", (chunk: string) => {
    buffer += chunk;
    let nl = buffer.indexOf("\n");
    while (nl >= 0) {
      const line = buffer.slice(0, nl);
      buffer = buffer.slice(nl + 1);
      // Every stdout line is a JSON log line; a parse failure fails the test.
      if (line.trim() !== "") lines.push(JSON.parse(line) as Record<string, unknown>);
      nl = buffer.indexOf("\n");
    }
  });
  child.stderr?.on("data", (chunk: string) => {
    stderr += chunk;
  });
  const exited = new Promise<{ code: number | null; at: number }>((resolve) =>
    child.on("close", (code) => resolve({ code, at: Date.now() })),
  );
  return { child, lines, stderr: () => stderr, exited };
}

const FAR_AWAY = "0 0 1 1 *";

describe.each(PROVIDERS)("run as a process on %s", (provider) => {
  const skip = provider === "postgresql" && !postgresAvailable();
  let db: TestDatabase;
  let sim: Simulator;
  const baseEnv = (): Record<string, string> => ({
    TALKJS_APP_ID: sim.appId,
    TALKJS_SECRET_KEY: sim.secretKey,
    TALKJS_API_URL: sim.url,
    TALKJS_RATE_LIMIT_PER_SECOND: "1000",
    TALKJS_RATE_LIMIT_BURST: "1000",
    DATABASE_URL: db.url,
    METRICS_HOST: "127.0.0.1",
    METRICS_PORT: "0",
    LOG_LEVEL: "info",
  });

  beforeAll(async () => {
    if (skip) return;
    db = await freshDatabase(provider);
  });
  afterAll(async () => {
    if (skip) return;
    await db?.drop();
  });

  it.skipIf(skip)(
    "SIGTERM mid-backfill: exit 0 within the grace period, no half-written page, the next run resumes",
    async () => {
      sim = await startSimulator({
        conversations: 600,
        seed: 31,
        appId: `run_term_${provider}`,
        latencyMs: 15,
      });
      try {
        const w = spawnWorker({ ...baseEnv(), SYNC_CRON: FAR_AWAY, RECONCILE_CRON: FAR_AWAY });
        sim.clearRequestLog();
        await waitFor(`backfill progress (${w.stderr()})`, () => listingRequests(sim) >= 6, 60_000);
        const signalledAt = Date.now();
        w.child.kill("SIGTERM");
        const { code, at } = await w.exited;
        expect(w.stderr()).toBe("");
        expect(code).toBe(0);
        expect(at - signalledAt).toBeLessThan(10_000);
        const messages = w.lines.map((l) => l.msg);
        expect(messages).toContain("signal received: stopping gracefully");
        expect(messages.at(-1)).toBe("worker stopped");

        const store = await openStore({ url: db.url });
        try {
          const [run] = await store.lastRuns(sim.appId, 1);
          expect(run?.kind).toBe("backfill");
          expect(run?.status).toBe("aborted");
          const live = (await store.stats(sim.appId)).live;
          // Whole pages only: the rows in the mirror are exactly those of the committed pages
          // (the run counts a page only after its transaction committed)...
          expect(live).toBe(run?.fetched);
          expect(live).toBeGreaterThan(0);
          expect(live).toBeLessThan(600);
          // ...and the checkpoint sits at the last of them.
          const cursor = JSON.parse(
            (await store.getSyncState(sim.appId, BACKFILL_STREAM))?.cursor ?? "null",
          ) as { windows: { pager: { ts: number } }[] } | null;
          const [newest] = await store.queryRaw(
            sql`SELECT MAX(created_at) AS newest FROM conversations WHERE app_id = ${sim.appId}`,
          );
          const newestMs =
            newest?.newest instanceof Date
              ? newest.newest.getTime()
              : new Date(String(newest?.newest)).getTime();
          // (one window: BACKFILL_CONCURRENCY defaults to 1)
          expect(cursor?.windows).toHaveLength(1);
          expect(cursor?.windows[0]?.pager.ts).toBe(newestMs);

          const resumed = await runCli(["backfill", "--json"], { ...baseEnv(), LOG_LEVEL: "warn" });
          expect(resumed.code).toBe(0);
          const summary = JSON.parse(resumed.stdout) as { resumed: boolean; inserted: number };
          expect(summary.resumed).toBe(true);
          expect(summary.inserted).toBe(600 - live);
          await expectMirrorEquals({ sim, appId: sim.appId }, store, { deletedMustBeMarked: true });
        } finally {
          await store.close();
        }
      } finally {
        await sim.close();
      }
    },
    120_000,
  );

  it.skipIf(skip)("a second signal exits at once", async () => {
    sim = await startSimulator({
      conversations: 600,
      seed: 32,
      appId: `run_twice_${provider}`,
      latencyMs: 15,
    });
    try {
      const w = spawnWorker({ ...baseEnv(), SYNC_CRON: FAR_AWAY, RECONCILE_CRON: FAR_AWAY });
      await waitFor("the worker to start", () => w.lines.some((l) => l.msg === "backfill started"), 60_000);
      w.child.kill("SIGTERM");
      w.child.kill("SIGINT");
      const { code } = await w.exited;
      expect(code).toBe(130);
      expect(w.lines.map((l) => l.msg)).toContain("second signal: exiting now");
    } finally {
      await sim.close();
    }
  });

  it.skipIf(skip)(
    "two replicas: never two runs at once, and the survivor takes over when the other is killed",
    async () => {
      sim = await startSimulator({
        conversations: 200,
        seed: 33,
        appId: `run_replicas_${provider}`,
        latencyMs: 5,
      });
      const env = { ...baseEnv(), SYNC_CRON: "* * * * * *", RECONCILE_CRON: FAR_AWAY, LOG_LEVEL: "debug" };
      const a = spawnWorker(env);
      const b = spawnWorker(env);
      const store = await openStore({ url: db.url });
      const finishedSyncs = (w: Spawned) => w.lines.filter((l) => l.msg === "sync finished").length;
      const lockedSkips = (w: Spawned) =>
        w.lines.filter((l) => /skipped: another process holds/.test(String(l.msg)));
      try {
        // Both tick every second; each tick's work is done by whichever takes the lock first.
        await waitFor("several syncs", () => finishedSyncs(a) + finishedSyncs(b) >= 4, 60_000);
        expect(lockedSkips(a).length + lockedSkips(b).length).toBeGreaterThan(0);
        const victim = finishedSyncs(a) > 0 ? a : b;
        const survivor = victim === a ? b : a;
        victim.child.kill("SIGKILL");
        const { at: killedAt } = await victim.exited;
        const survivorBefore = finishedSyncs(survivor);
        await waitFor(
          "the survivor to keep syncing",
          () => finishedSyncs(survivor) >= survivorBefore + 3,
          60_000,
        );
        survivor.child.kill("SIGTERM");
        expect((await survivor.exited).code).toBe(0);

        const runs = await store.lastRuns(sim.appId, 1000);
        // Exactly one process worked at a time: run intervals never overlap.
        const spans = runs
          .map((r) => [r.startedAt.getTime(), r.finishedAt?.getTime() ?? Number.POSITIVE_INFINITY] as const)
          .sort((x, y) => x[0] - y[0]);
        for (let i = 1; i < spans.length; i++) {
          expect(spans[i]?.[0]).toBeGreaterThanOrEqual(spans[i - 1]?.[1] as number);
        }
        expect(runs.filter((r) => r.status === "running")).toEqual([]);
        expect(
          runs.filter(
            (r) => r.kind === "sync" && r.status === "succeeded" && r.startedAt.getTime() > killedAt,
          ).length,
        ).toBeGreaterThanOrEqual(3);
        await expectMirrorEquals({ sim, appId: sim.appId }, store, { deletedMustBeMarked: true });
        // Debug-level logs of two workers, every line JSON with its job, and no secret in any.
        for (const w of [a, b]) {
          expect(JSON.stringify(w.lines)).not.toContain(sim.secretKey);
          expect(w.lines.filter((l) => l.runId !== undefined).every((l) => typeof l.job === "string")).toBe(
            true,
          );
        }
      } finally {
        for (const w of [a, b])
          if (w.child.exitCode === null && w.child.signalCode === null) w.child.kill("SIGKILL");
        await store.close();
        await sim.close();
      }
    },
    180_000,
  );
});

describe("run: bad configuration", () => {
  it("a bad cron expression stops at start with exit 2, naming the setting", async () => {
    const result = await runCli(["run"], {
      TALKJS_APP_ID: "demo",
      TALKJS_SECRET_KEY: "sk_test_secret_value",
      DATABASE_URL: "file:/nonexistent-dir/never-opened.db",
      SYNC_CRON: "every minute",
    });
    expect(result.code).toBe(2);
    expect(result.stderr.trim().split("\n")).toHaveLength(1);
    expect(result.stderr).toMatch(/SYNC_CRON: "every minute" is not a valid cron expression/);
    expect(result.stderr).not.toContain("sk_test_secret_value");
  });
});
