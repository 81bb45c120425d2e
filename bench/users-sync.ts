// Requests per sync for k new users (issue 17): a mirrored app of 3,000 conversations, then k new
// users each joining a new conversation, one sync per k. Prints a markdown table: the sync's
// requests in all, the users pass's own (one GET per new user), and the time.
// usage: npx tsx bench/users-sync.ts [--db file:PATH | postgresql://…]
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { createLogger } from "../src/log.ts";
import { startSimulator } from "../src/simulator/index.ts";
import { parseDatabaseUrl } from "../src/store/database-url.ts";
import { migrateDatabase } from "../src/store/migrate.ts";
import { openStore } from "../src/store/store.ts";
import { runMirrorJob, type SyncSettings } from "../src/sync/jobs.ts";
import { createTalkJSClient } from "../src/talkjs/client.ts";

const dir = mkdtempSync(path.join(os.tmpdir(), "bench-users-"));
const dbArg = process.argv.indexOf("--db");
const url = dbArg > 0 ? (process.argv[dbArg + 1] as string) : `file:${path.join(dir, "m.db")}`;
const settings: SyncSettings = {
  clockSkewMs: 5_000,
  maxDeleteShare: 0.1,
  mirrorMessages: true,
  mirrorUsers: true,
  messageConcurrency: 4,
  backfillConcurrency: 1,
};
const sim = await startSimulator({ conversations: 3_000, seed: 7, appId: `bench_users_${Date.now()}` });
await migrateDatabase(parseDatabaseUrl(url));
const store = await openStore({ url });
const logger = createLogger({ level: "silent" });
const client = createTalkJSClient({
  appId: sim.appId,
  secretKey: sim.secretKey,
  baseUrl: sim.url,
  rateLimit: { perSecond: 10_000, burst: 10_000 },
  logger,
});
const ctx = { client, store, appId: sim.appId, logger };
try {
  const t0 = performance.now();
  const backfill = await runMirrorJob(ctx, "backfill", { settings });
  console.log(
    `backfill: ${backfill.users?.fetched} users in ${backfill.users?.pages} pages, ${sim.requestLog.length} requests, ${((performance.now() - t0) / 1000).toFixed(1)} s`,
  );
  console.log("| k new users | sync requests | of which users GETs | without users | time |");
  console.log("| ----------- | ------------- | ------------------- | ------------- | ---- |");
  for (const k of [0, 1, 10, 100]) {
    for (let i = 0; i < k; i++) {
      sim.putUser(`bench_${k}_${i}`, { name: `Bench ${i}` });
      sim.createConversation({ id: `bench conv ${k}/${i}`, participants: [`bench_${k}_${i}`, "user_00001"] });
    }
    sim.clearRequestLog();
    const t = performance.now();
    await runMirrorJob(ctx, "sync", { settings });
    const ms = performance.now() - t;
    const total = sim.requestLog.length;
    const users = sim.requestLog.filter((r) => /\/users(\/[^/]+)?$/.test(r.path)).length;
    console.log(`| ${k} | ${total} | ${users} | ${total - users} | ${(ms / 1000).toFixed(2)} s |`);
  }
} finally {
  await client.close();
  await store.close();
  await sim.close();
  rmSync(dir, { recursive: true, force: true });
}
