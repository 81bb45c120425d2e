// The worker archives files on its own schedule (FILES_CRON), beside the mirror jobs: a fresh
// worker backfills and, without any mirror job running files, ends with every attachment stored.
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config/index.ts";
import { loadWorkerSettings } from "../../src/config/worker.ts";
import { createLogger } from "../../src/log.ts";
import { startSimulator } from "../../src/simulator/index.ts";
import { openStore } from "../../src/store/store.ts";
import { startWorker } from "../../src/worker/worker.ts";
import { freshDatabase, PROVIDERS, postgresAvailable } from "../helpers/db.ts";

const root = mkdtempSync(path.join(os.tmpdir(), "talkjs-worker-files-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe.each(PROVIDERS)("worker files job on %s", (provider) => {
  const skip = provider === "postgresql" && !postgresAvailable();

  it.skipIf(skip)("runs on FILES_CRON beside the syncs and stores every attachment", async () => {
    const db = await freshDatabase(provider);
    const sim = await startSimulator({ conversations: 80, seed: 5, appId: `worker_files_${provider}` });
    const store = await openStore({ url: db.url });
    const settings = {
      TALKJS_APP_ID: sim.appId,
      TALKJS_SECRET_KEY: sim.secretKey,
      TALKJS_API_URL: sim.url,
      TALKJS_RATE_LIMIT_PER_SECOND: "2000",
      TALKJS_RATE_LIMIT_BURST: "2000",
      DATABASE_URL: db.url,
      METRICS_HOST: "127.0.0.1",
      METRICS_PORT: "0",
      SYNC_CRON: "0 0 1 1 *",
      RECONCILE_CRON: "0 0 1 1 *",
      FILES_CRON: "* * * * * *",
      FILES_DIR: path.join(root, provider),
      FILES_ALLOW_PRIVATE_HOSTS: "true",
    };
    const worker = await startWorker(
      loadConfig(settings, { requireTalkJS: true }),
      loadWorkerSettings(settings),
      {
        logger: createLogger({ level: "silent" }),
      },
    );
    try {
      const attachments = sim
        .allConversations()
        .flatMap((c) => sim.messages(c.id))
        .filter((m) => m.attachment !== null).length;
      expect(attachments).toBeGreaterThan(5);
      const deadline = Date.now() + 60_000;
      for (;;) {
        const stats = await store.files.stats(sim.appId);
        if (stats.byStatus.stored === attachments) break;
        if (Date.now() > deadline) throw new Error(`files not archived: ${JSON.stringify(stats.byStatus)}`);
        await new Promise((r) => setTimeout(r, 100));
      }
      // The mirror jobs did not run files themselves, and files leave no sync_runs row.
      const kinds = (await store.lastRuns(sim.appId, 20)).map((r) => r.kind);
      expect(kinds).toContain("backfill");
      expect(kinds).not.toContain("files");
      expect((await store.getSyncState(sim.appId, "files"))?.lastSuccessAt).toBeInstanceOf(Date);
    } finally {
      await worker.stop("test done");
      await store.close();
      await sim.close();
      await db.drop();
    }
  });
});
