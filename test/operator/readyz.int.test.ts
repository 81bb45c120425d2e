// Issue 16, items 3 and 13: /readyz says what is true in a short code or reason, never raw
// database text; the detail goes to the log.
import { Writable } from "node:stream";
import pg from "pg";
import { describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config/index.ts";
import { loadWorkerSettings } from "../../src/config/worker.ts";
import { createLogger } from "../../src/log.ts";
import { startSimulator } from "../../src/simulator/index.ts";
import { startWorker } from "../../src/worker/worker.ts";
import { freshDatabase, PROVIDERS, postgresAvailable } from "../helpers/db.ts";

function capture(lines: string[]) {
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

describe.each(PROVIDERS)("/readyz on %s", (provider) => {
  const skip = provider === "postgresql" && !postgresAvailable();

  // SQLite: a failing file cannot be staged under an open WAL connection (it answers from its
  // cache), so the failure is a dropped PostgreSQL database.
  it.skipIf(skip || provider === "sqlite")(
    "a failing database answers 503 with a code; the detail is only logged",
    async () => {
      const sim = await startSimulator({ conversations: 30, seed: 3, appId: `readyz_db_${provider}` });
      const db = await freshDatabase(provider);
      const settings = {
        TALKJS_APP_ID: sim.appId,
        TALKJS_SECRET_KEY: sim.secretKey,
        TALKJS_API_URL: sim.url,
        DATABASE_URL: db.url,
        METRICS_HOST: "127.0.0.1",
        METRICS_PORT: "0",
        SYNC_CRON: "0 0 1 1 *",
        RECONCILE_CRON: "0 0 1 1 *",
      };
      const lines: string[] = [];
      const worker = await startWorker(
        loadConfig(settings, { requireTalkJS: true }),
        loadWorkerSettings(settings),
        {
          logger: capture(lines),
        },
      );
      try {
        await worker.jobs.idle();
        expect((await fetch(`${worker.url}/readyz`)).status).toBe(200);
        {
          const admin = new pg.Client({ connectionString: db.url.replace(/\/[^/]+$/, "/postgres") });
          await admin.connect();
          const name = new URL(db.url).pathname.slice(1);
          await admin.query(`DROP DATABASE "${name}" WITH (FORCE)`);
          await admin.end();
        }
        const res = await fetch(`${worker.url}/readyz`);
        const text = await res.text();
        expect(res.status).toBe(503);
        const body = JSON.parse(text) as {
          checks: { database: { ok: boolean; error: string } };
          reasons: string[];
        };
        expect(body.checks.database.ok).toBe(false);
        expect(body.checks.database.error).toMatch(/^DB_[A-Z_]+$/);
        expect(body.reasons[0]).toContain(body.checks.database.error);
        // No driver text, no Prisma invocation, no path or host.
        expect(text).not.toMatch(
          /Invalid|prisma|SQLITE_|terminat|does not exist|\/tmp\/|127\.0\.0\.1|\n.+\n/i,
        );
        const logged = lines
          .map((l) => JSON.parse(l) as Record<string, unknown>)
          .find((l) => l.code === body.checks.database.error);
        expect(String(logged?.detail ?? "")).not.toBe("");
      } finally {
        await worker.stop("test done");
        await sim.close();
        await db.drop().catch(() => {});
      }
    },
  );
});
