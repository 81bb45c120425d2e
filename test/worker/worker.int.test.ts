// The long-running worker in-process, against the simulator over real HTTP and a real database:
// fast schedules keep the mirror exact while the app changes; /healthz, /readyz and /metrics
// answer what the runs did; a failing job is retried on its next tick and never stops the worker.
import { Writable } from "node:stream";
import type { Logger } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config/index.ts";
import { loadWorkerSettings } from "../../src/config/worker.ts";
import { createLogger } from "../../src/log.ts";
import { startSimulator } from "../../src/simulator/index.ts";
import type { Simulator } from "../../src/simulator/types.ts";
import { openStore, type Store } from "../../src/store/store.ts";
import { startWorker, type Worker } from "../../src/worker/worker.ts";
import { freshDatabase, PROVIDERS, postgresAvailable, type TestDatabase } from "../helpers/db.ts";
import { parseMetrics, waitFor } from "../helpers/wait.ts";
import { expectMirrorEquals } from "../sync/harness.ts";

function silentLogger(lines: string[]): Logger {
  return createLogger({
    level: "debug",
    destination: new Writable({
      write(chunk, _enc, cb) {
        lines.push(String(chunk));
        cb();
      },
    }),
  });
}

describe.each(PROVIDERS)("worker on %s", (provider) => {
  const skip = provider === "postgresql" && !postgresAvailable();
  let db: TestDatabase;
  let sim: Simulator;
  let store: Store;

  const env = (extra: Record<string, string>): Record<string, string> => ({
    TALKJS_APP_ID: sim.appId,
    TALKJS_SECRET_KEY: sim.secretKey,
    TALKJS_API_URL: sim.url,
    TALKJS_RATE_LIMIT_PER_SECOND: "2000",
    TALKJS_RATE_LIMIT_BURST: "2000",
    TALKJS_RETRY_MAX_ATTEMPTS: "2",
    DATABASE_URL: db.url,
    METRICS_HOST: "127.0.0.1",
    METRICS_PORT: "0",
    // Far in the future: these tests trigger ticks themselves unless they set a fast schedule.
    SYNC_CRON: "0 0 1 1 *",
    RECONCILE_CRON: "0 0 1 1 *",
    ...extra,
  });
  const start = (extra: Record<string, string>, lines: string[] = []): Promise<Worker> => {
    const settings = env(extra);
    return startWorker(loadConfig(settings, { requireTalkJS: true }), loadWorkerSettings(settings), {
      logger: silentLogger(lines),
    });
  };

  beforeAll(async () => {
    if (skip) return;
    db = await freshDatabase(provider);
    store = await openStore({ url: db.url });
  });
  afterAll(async () => {
    if (skip) return;
    await store?.close();
    await db?.drop();
  });

  it.skipIf(skip)(
    "fast schedules keep the mirror exact while the app changes between ticks",
    async () => {
      sim = await startSimulator({ conversations: 400, seed: 21, appId: `worker_live_${provider}` });
      const lines: string[] = [];
      const worker = await start({ SYNC_CRON: "* * * * * *", RECONCILE_CRON: "*/3 * * * * *" }, lines);
      try {
        // The first job is the initial backfill; /readyz says why it is not ready meanwhile.
        const early = await fetch(`${worker.url}/readyz`);
        const earlyBody = (await early.json()) as { ready: boolean; reasons: string[] };
        if (!earlyBody.ready) expect(early.status).toBe(503);
        await waitFor(
          "the initial backfill",
          async () => (await fetch(`${worker.url}/readyz`)).status === 200,
        );

        // The app lives for a few ticks: messages, new (empty) conversations, edits, deletions.
        const ids = sim.allConversations().map((c) => c.id);
        for (let round = 0; round < 4; round++) {
          for (let i = 0; i < 5; i++) sim.addMessage(ids[(round * 37 + i * 11) % ids.length] as string);
          sim.createConversation({
            id: `new-${round}`,
            participants: ["u1", "u2"],
            subject: `round ${round}`,
          });
          sim.updateConversation(ids[(round * 13 + 5) % ids.length] as string, {
            subject: `edited ${round}`,
          });
          sim.deleteConversation(ids[(round * 17 + 200) % ids.length] as string);
          await new Promise((r) => setTimeout(r, 1_200));
        }
        const changesDoneAt = Date.now();
        // A reconcile that started after the last change makes the copy exact, deletions included;
        // by then the schedule has also run several syncs (how many depends on the machine's load).
        await waitFor(
          "a reconcile after the last change, and three syncs",
          async () => {
            const runs = await store.lastRuns(sim.appId, 500);
            const syncs = runs.filter((r) => r.kind === "sync" && r.status === "succeeded").length;
            const reconciled = runs.some(
              (r) =>
                r.kind === "reconcile" && r.status === "succeeded" && r.startedAt.getTime() > changesDoneAt,
            );
            return syncs >= 3 && reconciled;
          },
          90_000,
        );
        await worker.jobs.idle();
        await expectMirrorEquals({ sim, appId: sim.appId }, store, { deletedMustBeMarked: true });

        const runs = await store.lastRuns(sim.appId, 500);
        expect(runs.every((r) => r.status === "succeeded")).toBe(true);
        // Never two runs of this app at once: their [start, finish] intervals do not overlap.
        const spans = runs
          .map((r) => [r.startedAt.getTime(), r.finishedAt?.getTime() ?? Number.POSITIVE_INFINITY] as const)
          .sort((a, b) => a[0] - b[0]);
        for (let i = 1; i < spans.length; i++) {
          expect(spans[i]?.[0]).toBeGreaterThanOrEqual(spans[i - 1]?.[1] as number);
        }
        // Every line a run logs carries its run id and job, including the engine's own.
        const runLines = lines.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l.runId);
        expect(runLines.length).toBeGreaterThan(0);
        expect(runLines.every((l) => typeof l.job === "string")).toBe(true);
      } finally {
        expect(await worker.stop("test done")).toBe(true);
        await sim.close();
      }
    },
    150_000,
  );

  it.skipIf(skip)(
    "/metrics matches the recorded runs; a failing job is counted, retried on its next tick, and the worker lives on",
    async () => {
      sim = await startSimulator({ conversations: 250, seed: 22, appId: `worker_metrics_${provider}` });
      const worker = await start({ READY_MAX_STALENESS_MS: "60000" });
      const scrape = async () => parseMetrics(await (await fetch(`${worker.url}/metrics`)).text());
      try {
        await worker.jobs.idle(); // the initial backfill
        expect((await fetch(`${worker.url}/healthz`)).status).toBe(200);
        expect((await fetch(`${worker.url}/readyz`)).status).toBe(200);

        for (let i = 0; i < 3; i++) sim.addMessage(sim.allConversations()[i * 7]?.id as string);
        // TalkJS throttles once: the sync waits it out, and the pause shows in the metrics.
        sim.addFault({ fault: { kind: "status", status: 429, retryAfter: "0.05" }, nth: 1 });
        worker.jobs.request("sync");
        await worker.jobs.idle();
        sim.clearFaults();
        const throttled = await scrape();
        expect(throttled.get("talkjs_mirror_http_rate_limited_total")).toBe(1);
        expect(throttled.get("talkjs_mirror_http_paused_seconds_total")).toBeGreaterThanOrEqual(0.05);
        expect(throttled.get("talkjs_mirror_http_request_rate")).toBeGreaterThan(0);

        // TalkJS fails every listing: the sync fails after its retries, the worker does not.
        sim.addFault({ fault: { kind: "status", status: 503 }, probability: 1 });
        worker.jobs.request("sync");
        await worker.jobs.idle();
        worker.jobs.request("sync");
        await worker.jobs.idle();
        let m = await scrape();
        expect(m.get('talkjs_mirror_consecutive_failures{kind="sync"}')).toBe(2);
        const ready = (await (await fetch(`${worker.url}/readyz`)).json()) as {
          consecutiveFailures: Record<string, number>;
        };
        expect(ready.consecutiveFailures.sync).toBe(2);

        sim.clearFaults();
        worker.jobs.request("reconcile");
        worker.jobs.request("sync");
        await worker.jobs.idle();
        m = await scrape();
        expect(m.get('talkjs_mirror_consecutive_failures{kind="sync"}')).toBe(0);

        // The counters agree with the sync_runs rows, run by run.
        const runs = await store.lastRuns(sim.appId, 100);
        const count = (kind: string, status: string) =>
          runs.filter((r) => r.kind === kind && r.status === status).length;
        expect(count("sync", "failed")).toBe(2);
        for (const [kind, outcome] of [
          ["backfill", "succeeded"],
          ["sync", "succeeded"],
          ["sync", "failed"],
          ["reconcile", "succeeded"],
        ] as const) {
          expect(m.get(`talkjs_mirror_runs_total{kind="${kind}",outcome="${outcome}"}`) ?? 0).toBe(
            count(kind, outcome),
          );
          expect(
            m.get(`talkjs_mirror_run_duration_seconds_count{kind="${kind}",outcome="${outcome}"}`) ?? 0,
          ).toBe(count(kind, outcome));
        }
        for (const kind of ["backfill", "sync", "reconcile"]) {
          const sum = (field: "fetched" | "inserted" | "updated" | "unchanged") =>
            runs.filter((r) => r.kind === kind).reduce((a, r) => a + r[field], 0);
          for (const field of ["fetched", "inserted", "updated", "unchanged"] as const) {
            expect(m.get(`talkjs_mirror_conversations_total{kind="${kind}",result="${field}"}`) ?? 0).toBe(
              sum(field),
            );
          }
        }
        const stats = await store.stats(sim.appId);
        expect(m.get('talkjs_mirror_mirrored_conversations{state="live"}')).toBe(stats.live);
        expect(m.get("talkjs_mirror_database_up")).toBe(1);
        expect(m.get("talkjs_mirror_lag_seconds")).toBeGreaterThanOrEqual(0);
        // HTTP counters: what the simulator answered, status by status.
        const byStatus = (status: number) => sim.requestLog.filter((r) => r.status === status).length;
        expect(m.get('talkjs_mirror_http_requests_total{status="200"}')).toBe(byStatus(200));
        expect(m.get('talkjs_mirror_http_requests_total{status="503"}')).toBe(byStatus(503));
        expect(m.get("talkjs_mirror_http_retries_total")).toBeGreaterThanOrEqual(2);
        expect(m.has("process_resident_memory_bytes")).toBe(true);
      } finally {
        expect(await worker.stop("test done")).toBe(true);
        await sim.close();
      }
    },
    60_000,
  );

  it.skipIf(skip)("a tick for a job still running is skipped and counted", async () => {
    sim = await startSimulator({
      conversations: 300,
      seed: 23,
      appId: `worker_overlap_${provider}`,
      latencyMs: 30,
    });
    const worker = await start({});
    try {
      expect(worker.jobs.running).toBe("backfill");
      expect(worker.jobs.request("backfill")).toEqual({ skipped: "overlap" });
      expect(worker.jobs.request("sync")).toBe("queued");
      expect(worker.jobs.request("sync")).toEqual({ skipped: "overlap" });
      const m = parseMetrics(await (await fetch(`${worker.url}/metrics`)).text());
      expect(m.get('talkjs_mirror_job_skipped_total{kind="sync",reason="overlap"}')).toBe(1);
      expect(m.get('talkjs_mirror_job_skipped_total{kind="backfill",reason="overlap"}')).toBe(1);
      await worker.jobs.idle();
      const kinds = (await store.lastRuns(sim.appId, 10)).map((r) => `${r.kind}:${r.status}`);
      // Each job is followed by its message pass and its users pass.
      expect(kinds).toEqual([
        "users:succeeded",
        "messages:succeeded",
        "sync:succeeded",
        "users:succeeded",
        "messages:succeeded",
        "backfill:succeeded",
      ]);
    } finally {
      await worker.stop("test done");
      await sim.close();
    }
  });
});
