// `npm run bench:webhooks`: event-to-row lag of the webhook path. The simulator (50 ms latency per
// request, in this process) sends a signed message.sent webhook for every message a steady
// generator adds; the worker (in this process, WEBHOOK_PORT on, no scheduled sync) stores,
// plans and fetches it. Lag = when a poll (every 20 ms) first sees the message row minus when the
// message was added at the simulator. Rates 10/50/200 events/s with the client rate limit lifted,
// then 50 events/s at TalkJS's own limit (9 requests/s) to show what coalescing buys. "ack" is
// the receiver's answer time as the simulator's sender saw it (TalkJS gives up after 5 s).
//
// usage: tsx bench/webhooks.ts [--seconds 10] [--databases sqlite,postgresql] [--conversations 100]
//                              [--rates 10,50,200,50@9] [--connections 16]
// PostgreSQL: BENCH_DATABASE_URL admin URL (default postgresql://postgres@127.0.0.1:5432/postgres).
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { loadConfig } from "../src/config/index.ts";
import { loadWebhookSettings } from "../src/config/webhooks.ts";
import { loadWorkerSettings } from "../src/config/worker.ts";
import { createLogger } from "../src/log.ts";
import { startSimulator } from "../src/simulator/index.ts";
import type { DatabaseProvider } from "../src/store/database-url.ts";
import { join, sql } from "../src/store/sql/shared.ts";
import { openStore } from "../src/store/store.ts";
import { startWorker } from "../src/worker/worker.ts";
import { freshDb } from "./lib/db.ts";

const { values } = parseArgs({
  options: {
    seconds: { type: "string", default: "10" },
    databases: { type: "string", default: "sqlite,postgresql" },
    conversations: { type: "string", default: "100" },
    /** Which rows to run: events/s, "@limit" for a client rate limit (e.g. "50,50@9"). */
    rates: { type: "string", default: "10,50,200,50@9" },
    /** Requests in flight and connections of the "lifted" rows (TalkJS's client defaults: 4). */
    connections: { type: "string", default: "16" },
  },
});
const SECONDS = Number(values.seconds);
const CONVERSATIONS = Number(values.conversations);

interface Scenario {
  rate: number;
  /** Client requests per second (null: lifted). */
  limit: number | null;
  /** Conversations the events spread over. */
  spread: number;
}
/** "50" → 50 events/s, limit lifted, over every conversation; "50@9" → at 9 requests/s over 20. */
function scenario(spec: string): Scenario {
  const m = /^(\d+)(?:@(\d+))?$/.exec(spec.trim());
  if (!m) throw new Error(`--rates: "${spec}" is not <events/s> or <events/s>@<requests/s>`);
  const limit = m[2] === undefined ? null : Number(m[2]);
  return { rate: Number(m[1]), limit, spread: limit === null ? CONVERSATIONS : Math.min(20, CONVERSATIONS) };
}
const SCENARIOS: Scenario[] = values.rates.split(",").map(scenario);

const pct = (sorted: number[], p: number): number =>
  sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;

async function run(provider: DatabaseProvider, s: Scenario): Promise<string> {
  const db = await freshDb(provider);
  const dir = mkdtempSync(path.join(os.tmpdir(), "bench-webhooks-"));
  const sim = await startSimulator({ conversations: CONVERSATIONS, seed: 5, appId: "bench_hooks" });
  const env: Record<string, string> = {
    TALKJS_APP_ID: sim.appId,
    TALKJS_SECRET_KEY: sim.secretKey,
    TALKJS_API_URL: sim.url,
    TALKJS_RATE_LIMIT_PER_SECOND: String(s.limit ?? 10_000),
    TALKJS_RATE_LIMIT_BURST: String(s.limit ?? 10_000),
    // "Lifted" means every client limit: at the default 4 requests in flight (and 4 connections)
    // and 50 ms per request the client tops out at 80 requests/s, less than 50 events/s × 2
    // requests, and the lag grows. At TalkJS's 9/s the defaults are far from the bound.
    TALKJS_MAX_CONCURRENCY: s.limit === null ? values.connections : "4",
    TALKJS_CONNECTIONS: s.limit === null ? values.connections : "4",
    DATABASE_URL: db.url,
    METRICS_HOST: "127.0.0.1",
    METRICS_PORT: "0",
    WEBHOOK_HOST: "127.0.0.1",
    WEBHOOK_PORT: "0",
    WEBHOOK_INBOX_PATH: path.join(dir, "inbox.db"),
    MESSAGES_CONCURRENCY: "8",
    MIRROR_FILES: "false",
    SYNC_CRON: "0 0 1 1 *",
    RECONCILE_CRON: "0 0 1 1 *",
  };
  const config = loadConfig(env, { requireTalkJS: true });
  const webhooks = loadWebhookSettings(env, config.database, config.talkjs?.secretKey);
  if (!webhooks) throw new Error("webhooks off");
  const worker = await startWorker(
    config,
    { ...loadWorkerSettings(env), webhooks },
    { logger: createLogger({ level: "silent" }) },
  );
  const store = await openStore({ url: db.url });
  try {
    await worker.jobs.idle(); // the initial backfill, at 0 ms latency
    sim.setOptions({ latencyMs: 50 });
    sim.webhooks.configure({ url: worker.webhookUrl ?? "" });
    const ids = sim
      .allConversations()
      .map((c) => c.id)
      .slice(0, s.spread);
    const sentAt = new Map<string, number>();
    const lags: number[] = [];
    sim.clearRequestLog();
    sim.webhooks.ackTimesMs.length = 0;
    const total = Math.round(s.rate * SECONDS);
    const started = performance.now();
    let polling = true;
    const poller = (async () => {
      while (polling || sentAt.size > 0) {
        const pending = [...sentAt.keys()];
        if (pending.length > 0) {
          const rows = await store.queryRaw(
            sql`SELECT id FROM messages WHERE app_id = ${sim.appId} AND id IN (${join(pending)})`,
          );
          const now = performance.now();
          for (const r of rows) {
            const id = String(r.id);
            lags.push(now - (sentAt.get(id) ?? now));
            sentAt.delete(id);
          }
        }
        if (!polling && performance.now() - started > (SECONDS + 120) * 1000) break;
        await new Promise((r) => setTimeout(r, 20));
      }
    })();
    for (let i = 0; i < total; i++) {
      const due = started + (i * 1000) / s.rate;
      const wait = due - performance.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      const conv = ids[i % ids.length] as string;
      const m = sim.addMessage(conv, { senderId: `bench_u${i % 5}`, text: `bench ${i}` });
      sentAt.set(m.id, performance.now());
    }
    polling = false;
    await poller;
    const requests = sim.requestLog.length;
    lags.sort((a, b) => a - b);
    const f = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
    const limit = s.limit === null ? "lifted" : `${s.limit}/s`;
    const acks = [...sim.webhooks.ackTimesMs].sort((a, b) => a - b);
    const ms = (v: number) => `${v.toFixed(1)} ms`;
    return `| ${provider} | ${s.rate}/s | ${limit} | ${s.spread} | ${lags.length}/${total} | ${f(pct(lags, 50))} | ${f(pct(lags, 95))} | ${f(pct(lags, 99))} | ${(requests / total).toFixed(2)} | ${ms(pct(acks, 50))} | ${ms(pct(acks, 99))} | ${ms(acks.at(-1) ?? Number.NaN)} |`;
  } finally {
    await store.close();
    await worker.stop();
    await sim.close();
    await db.drop();
    rmSync(dir, { recursive: true, force: true });
  }
}

console.log(
  `talkjs-mirror webhooks bench: ${os.cpus().length} cores, Node ${process.version}; ${SECONDS} s per rate, ` +
    `${CONVERSATIONS} conversations, simulator latency 50 ms`,
);
console.log(
  "| database | events | client limit | conversations | arrived | p50 | p95 | p99 | requests/event | ack p50 | ack p99 | ack max |",
);
console.log("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |");
for (const provider of values.databases.split(",") as DatabaseProvider[]) {
  for (const s of SCENARIOS) console.log(await run(provider, s));
}
