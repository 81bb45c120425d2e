// The run ledger under a long-running worker (issue 15 item 4), on SQLite and PostgreSQL: status
// finds the last run of every kind however many runs of other kinds followed, and retention
// (SYNC_RUNS_RETENTION_DAYS, pruned by the worker) never removes a kind's latest run.
import { Writable } from "node:stream";
import { describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config/index.ts";
import { loadWorkerSettings } from "../../src/config/worker.ts";
import { createLogger } from "../../src/log.ts";
import { startSimulator } from "../../src/simulator/index.ts";
import { sql } from "../../src/store/sql/shared.ts";
import type { Store } from "../../src/store/store.ts";
import { readStatus } from "../../src/sync/status.ts";
import { startWorker } from "../../src/worker/worker.ts";
import { PROVIDERS, useStore } from "../helpers/db.ts";

const DAY = 86_400_000;

async function run(store: Store, appId: string, kind: string, startedAt: number, status = "succeeded") {
  const id = await store.startRun(appId, kind, new Date(startedAt));
  if (status !== "running") {
    await store.finishRun(id, { status: status as "succeeded", finishedAt: new Date(startedAt + 1000) });
  }
  return id;
}

async function runIds(store: Store, appId: string): Promise<number[]> {
  const rows = await store.queryRaw(sql`SELECT id FROM sync_runs WHERE app_id = ${appId} ORDER BY id`);
  return rows.map((r) => Number(r.id));
}

describe.each(PROVIDERS)("run history on %s", (provider) => {
  const fixture = useStore(provider);
  const { skip } = fixture;

  it.skipIf(skip)("status shows the last backfill and reconcile after 150 syncs", async () => {
    const store = fixture.store;
    const now = Date.now();
    const backfill = await run(store, "history", "backfill", now - 3 * DAY);
    const reconcile = await run(store, "history", "reconcile", now - 2 * DAY, "failed");
    for (let i = 0; i < 150; i++) await run(store, "history", "sync", now - DAY + i * 1000);
    const status = await readStatus(store, "history", now);
    expect(status.lastRuns.backfill?.id).toBe(backfill);
    expect(status.lastRuns.reconcile).toMatchObject({ id: reconcile, status: "failed" });
    expect(status.lastRuns.sync?.id).toBe(Math.max(...(await runIds(store, "history"))));
    expect(status.lastRuns.messages).toBeUndefined();
  });

  it.skipIf(skip)("pruning keeps recent runs, each kind's latest and running rows", async () => {
    const store = fixture.store;
    const now = Date.now();
    const old = now - 100 * DAY;
    const backfill = await run(store, "prune", "backfill", old);
    const reconcileOld = await run(store, "prune", "reconcile", old);
    const reconcileLatest = await run(store, "prune", "reconcile", old + DAY);
    const oldSyncs = [];
    for (let i = 0; i < 5; i++) oldSyncs.push(await run(store, "prune", "sync", old + i));
    const running = await run(store, "prune", "messages", old, "running");
    const messagesLatest = await run(store, "prune", "messages", now - DAY);
    const recentSync = await run(store, "prune", "sync", now - DAY);
    const otherApp = await run(store, "prune-other", "sync", old);
    await run(store, "prune-other", "sync", now);

    const pruned = await store.pruneRuns("prune", new Date(now - 90 * DAY));
    expect(pruned).toBe(1 + 5);
    expect(await runIds(store, "prune")).toEqual([
      backfill,
      reconcileLatest,
      running,
      messagesLatest,
      recentSync,
    ]);
    expect(await runIds(store, "prune-other")).toContain(otherApp);
    expect(reconcileOld).toBeLessThan(reconcileLatest);
  });

  it.skipIf(skip)("the worker prunes runs older than SYNC_RUNS_RETENTION_DAYS", async () => {
    const store = fixture.store;
    const sim = await startSimulator({ conversations: 5, seed: 3, appId: `retention_${provider}` });
    const old = Date.now() - 10 * DAY;
    const oldSync = await run(store, sim.appId, "sync", old);
    const latestSync = await run(store, sim.appId, "sync", old + 1);
    const oldBackfill = await run(store, sim.appId, "backfill", old);
    const settings = {
      TALKJS_APP_ID: sim.appId,
      TALKJS_SECRET_KEY: sim.secretKey,
      TALKJS_API_URL: sim.url,
      DATABASE_URL: fixture.db.url,
      METRICS_HOST: "127.0.0.1",
      METRICS_PORT: "0",
      SYNC_CRON: "0 0 1 1 *",
      RECONCILE_CRON: "0 0 1 1 *",
      SYNC_RUNS_RETENTION_DAYS: "7",
    };
    const lines: string[] = [];
    const logger = createLogger({
      level: "info",
      destination: new Writable({
        write(chunk, _enc, cb) {
          lines.push(String(chunk));
          cb();
        },
      }),
    });
    const worker = await startWorker(
      loadConfig(settings, { requireTalkJS: true }),
      loadWorkerSettings(settings),
      {
        logger,
      },
    );
    try {
      // The first job is a backfill (the old backfill row has no watermark); pruning follows it.
      const deadline = Date.now() + 30_000;
      while (!lines.some((l) => l.includes("pruned old sync_runs rows"))) {
        if (Date.now() > deadline) throw new Error(`no pruning logged: ${lines.join("")}`);
        await new Promise((r) => setTimeout(r, 50));
      }
      const ids = await runIds(store, sim.appId);
      expect(ids).not.toContain(oldSync);
      expect(ids).not.toContain(oldBackfill); // the worker's backfill is now the latest of its kind
      expect(ids).toContain(latestSync); // old, but still the latest sync
      expect(ids.length).toBeGreaterThanOrEqual(3); // and this backfill and its message pass
    } finally {
      await worker.stop();
      await sim.close();
    }
  });
});
