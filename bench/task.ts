// One measured operation, run in its own process by bench/sync.ts so its peak RSS is its own and
// the simulator's CPU is never counted as ours. Prints one line: `RESULT {json}`.
// usage: tsx bench/task.ts '{"op":"backfill","simUrl":…,"appId":…,"secretKey":…,"dbUrl":…}'
import { createLogger } from "../src/log.ts";
import { parseDatabaseUrl } from "../src/store/database-url.ts";
import { migrateDatabase } from "../src/store/migrate.ts";
import { openStore, type Store } from "../src/store/store.ts";
import { runBackfill } from "../src/sync/backfill.ts";
import { runSync } from "../src/sync/incremental.ts";
import { runMessagePass } from "../src/sync/messages.ts";
import { runReconcile } from "../src/sync/reconcile.ts";
import type { RunSummary, SyncContext } from "../src/sync/run.ts";
import { createTalkJSClient, type TalkJSClient } from "../src/talkjs/client.ts";
import { pageConversations } from "../src/talkjs/pagination.ts";
import { naiveUpsert, openNaiveClient } from "./lib/naive.ts";

export type TaskOp =
  | "fetch"
  | "plain"
  | "backfill"
  | "naive"
  | "sync"
  | "reconcile"
  | "messages"
  | "sync+messages"
  | "backfill+messages";

export interface TaskSpec {
  op: TaskOp;
  simUrl: string;
  appId: string;
  secretKey: string;
  dbUrl?: string;
  /** naive: stop after this many conversations (the naive way is too slow for a whole app). */
  limit?: number;
  /** Client-side rate limit; the throughput items lift it so it measures us, not the pacing. */
  rateLimit?: { perSecond: number; burst: number };
  maxConcurrency?: number;
  clockSkewMs?: number;
  /** backfill: concurrent windows (1 = the sequential pager). */
  concurrency?: number;
  /** backfill+messages: conversations whose messages are fetched at once. */
  messageConcurrency?: number;
}

export interface TaskResult {
  op: TaskOp;
  seconds: number;
  conversations: number;
  requests: number;
  /** Of `requests`, the conversation listing's (GET .../conversations) calls. */
  listRequests: number;
  maxRssMb: number;
  /** 429 answers, and the time all requests were paused by them (ms). */
  rateLimited: number;
  pausedMs: number;
  inserted?: number;
  updated?: number;
  unchanged?: number;
  /** messages, sync+messages: the message pass's share. */
  messages?: { seconds: number; fetched: number; conversations: number; requests: number };
}

let listRequests = 0;

async function main(spec: TaskSpec): Promise<TaskResult> {
  const logger = createLogger({ level: "warn", secrets: [spec.secretKey], destination: 2 });
  const http: TalkJSClient = createTalkJSClient({
    appId: spec.appId,
    secretKey: spec.secretKey,
    baseUrl: spec.simUrl,
    authMode: "secret-key",
    rateLimit: spec.rateLimit ?? { perSecond: 1_000_000, burst: 1_000_000 },
    ...(spec.maxConcurrency ? { maxConcurrency: spec.maxConcurrency, connections: spec.maxConcurrency } : {}),
    logger,
  });
  // The same client, counting the listing calls (the measure of issue 14's listing figure).
  const client = Object.create(http) as TalkJSClient;
  client.listConversations = (params, signal) => {
    listRequests++;
    return http.listConversations(params, signal);
  };
  let store: Store | undefined;
  try {
    if (spec.op === "fetch") {
      // The ceiling: the same pager and HTTP client, no database at all.
      const t0 = performance.now();
      let conversations = 0;
      for await (const page of pageConversations(client, { orderBy: "createdAt", orderDirection: "ASC" })) {
        conversations += page.conversations.length;
      }
      return result(spec.op, t0, conversations, client);
    }
    if (spec.op === "plain") {
      // The yardstick: plain startingAfter paging (TalkJS's own export scripts), no tie handling,
      // no fallback; an empty page ends it. What a listing needs at the least.
      const t0 = performance.now();
      let conversations = 0;
      let after: string | undefined;
      for (;;) {
        const page = await client.listConversations({
          limit: client.pageSize,
          orderBy: "createdAt",
          orderDirection: "ASC",
          ...(after === undefined ? {} : { startingAfter: after }),
        });
        const last = page.at(-1);
        if (last === undefined) break;
        conversations += page.length;
        after = last.id;
      }
      return result(spec.op, t0, conversations, client);
    }
    if (!spec.dbUrl) throw new Error(`${spec.op} needs dbUrl`);
    const config = parseDatabaseUrl(spec.dbUrl, { poolSize: 4 });
    await migrateDatabase(config);
    if (spec.op === "naive") {
      const prisma = await openNaiveClient(config);
      const t0 = performance.now();
      let conversations = 0;
      try {
        for await (const page of pageConversations(client, { orderBy: "createdAt", orderDirection: "ASC" })) {
          for (const c of page.conversations) await naiveUpsert(prisma, spec.appId, c);
          conversations += page.conversations.length;
          if (conversations >= (spec.limit ?? Number.POSITIVE_INFINITY)) break;
        }
      } finally {
        await prisma.$disconnect();
      }
      return result(spec.op, t0, conversations, client);
    }
    store = await openStore(config);
    const ctx: SyncContext = { client, store, appId: spec.appId, logger };
    const skew = spec.clockSkewMs ?? 0;
    const t0 = performance.now();
    if (spec.op === "messages" || spec.op === "sync+messages") {
      // The message pass alone (after a conversation backfill: every history), or the job a
      // scheduled sync runs: the conversation sync, then the message pass for what it changed.
      const s = spec.op === "sync+messages" ? await runSync(ctx, { clockSkewMs: skew }) : undefined;
      const before = client.stats.requests;
      const t1 = performance.now();
      const m = await runMessagePass(ctx, {});
      return {
        ...result(spec.op, t0, s?.fetched ?? 0, client),
        messages: {
          seconds: (performance.now() - t1) / 1000,
          fetched: m.fetched,
          conversations: m.conversations,
          requests: client.stats.requests - before,
        },
      };
    }
    if (spec.op === "backfill+messages") {
      // A first mirror as `backfill` runs it: the conversations, then every history.
      const b = await runBackfill(ctx, {
        clockSkewMs: skew,
        restart: true,
        concurrency: spec.concurrency ?? 1,
      });
      const before = client.stats.requests;
      const m = await runMessagePass(ctx, { concurrency: spec.messageConcurrency ?? 4 });
      return {
        ...result(spec.op, t0, b.fetched, client),
        messages: {
          seconds: 0,
          fetched: m.fetched,
          conversations: m.conversations,
          requests: client.stats.requests - before,
        },
      };
    }
    let summary: RunSummary;
    if (spec.op === "backfill") {
      summary = await runBackfill(ctx, {
        clockSkewMs: skew,
        restart: true,
        concurrency: spec.concurrency ?? 1,
      });
    } else if (spec.op === "sync") summary = await runSync(ctx, { clockSkewMs: skew });
    else summary = await runReconcile(ctx, { maxDeleteShare: 0.1, allowMassDelete: false });
    return {
      ...result(spec.op, t0, summary.fetched, client),
      inserted: summary.inserted,
      updated: summary.updated,
      unchanged: summary.unchanged,
    };
  } finally {
    await client.close();
    await store?.close();
  }
}

function result(op: TaskOp, t0: number, conversations: number, client: TalkJSClient): TaskResult {
  return {
    op,
    seconds: (performance.now() - t0) / 1000,
    conversations,
    requests: client.stats.requests,
    listRequests,
    rateLimited: client.stats.rateLimited,
    pausedMs: client.stats.pausedMs,
    // maxRSS is in kilobytes.
    maxRssMb: process.resourceUsage().maxRSS / 1024,
  };
}

const spec = JSON.parse(process.argv[2] ?? "{}") as TaskSpec;
main(spec).then(
  (r) => {
    process.stdout.write(`RESULT ${JSON.stringify(r)}\n`);
  },
  (error: unknown) => {
    process.stderr.write(
      `bench task ${spec.op} failed: ${error instanceof Error ? error.stack : String(error)}\n`,
    );
    process.exitCode = 1;
  },
);
