// The flags of `npm run bench` (bench/sync.ts) and the sizes they imply. --smoke (CI) keeps every
// step but on SQLite only and tiny sizes; --quick is a short local run.
import { parseArgs } from "node:util";
import type { DatabaseProvider } from "../../src/store/database-url.ts";

/** The app every benchmark simulator serves, and its key. */
export const APP = "bench";
export const SECRET = "sk_test_bench";

/** The benchmark sections, in the order they run. */
export const SECTIONS = ["core", "messages", "parallel", "large", "latency", "budget", "listing"] as const;
export type SectionName = (typeof SECTIONS)[number];

export interface BenchConfig {
  /** Conversations of the core app (items 1, 2, 4, 5, 6). */
  conversations: number;
  reps: number;
  databases: DatabaseProvider[];
  /** Items 1 again: latency per request and the app size. */
  latencyMs: number;
  latencyConversations: number;
  /** Item 2: the naive upsert stops after this many conversations. */
  naiveLimit: number;
  /** Item 5 on a large app (0: skipped). */
  large: number;
  /** Item 4: changed conversations per sync round. */
  ks: number[];
  /** Item 7: app size and new messages per sync round. */
  messageConversations: number;
  messageKs: number[];
  /** Item 3: app size, latency per request and window counts. */
  parallelConversations: number;
  parallelLatencyMs: number;
  parallelWindows: number[];
  /** Item 8: backfill with messages against TalkJS's limit (--rate-limit, burst 600). */
  budgetConversations: number;
  budgetLimit: { perSecond: number; burst: number };
  /** Client ceilings measured: above the server's limit, and the default. */
  budgetCeilings: number[];
  /** Issue 14's listing figure: app size and latency per request (ours vs plain startingAfter paging). */
  listingConversations: number;
  listingLatencyMs: number;
  /** Sections to run (--only; default all). */
  only: ReadonlySet<SectionName>;
}

export function parseBenchArgs(args: string[] = process.argv.slice(2)): BenchConfig {
  const { values: flags } = parseArgs({
    args,
    options: {
      conversations: { type: "string" },
      reps: { type: "string" },
      databases: { type: "string" },
      "latency-ms": { type: "string", default: "20" },
      "latency-conversations": { type: "string" },
      "naive-limit": { type: "string" },
      "message-conversations": { type: "string" },
      "parallel-conversations": { type: "string" },
      "budget-conversations": { type: "string" },
      "budget-ceilings": { type: "string" },
      "listing-conversations": { type: "string" },
      "listing-latency-ms": { type: "string" },
      large: { type: "string", default: "0" },
      only: { type: "string" },
      quick: { type: "boolean", default: false },
      smoke: { type: "boolean", default: false },
    },
  });
  const smoke = flags.smoke === true;
  const quick = flags.quick === true;
  const num = (v: string | undefined, fallback: number) => (v === undefined ? fallback : Number(v));
  const only = new Set((flags.only ?? SECTIONS.join(",")).split(","));
  for (const o of only)
    if (!(SECTIONS as readonly string[]).includes(o)) throw new Error(`--only: unknown section "${o}"`);
  return {
    conversations: num(flags.conversations, smoke ? 300 : quick ? 10_000 : 100_000),
    reps: num(flags.reps, smoke || quick ? 1 : 3),
    databases: (flags.databases ?? (smoke ? "sqlite" : "sqlite,postgresql")).split(",") as DatabaseProvider[],
    latencyMs: num(flags["latency-ms"], 20),
    latencyConversations: num(flags["latency-conversations"], smoke ? 200 : quick ? 3_000 : 10_000),
    naiveLimit: num(flags["naive-limit"], smoke ? 100 : 3_000),
    large: num(flags.large, 0),
    ks: smoke ? [0, 40] : [0, 10, 100, 1_000],
    // A generated conversation has ~17 messages on average (a long tail up to 3,000), so a
    // smaller app than the core one keeps the message backfill to a minute or two.
    messageConversations: num(flags["message-conversations"], smoke ? 150 : quick ? 2_000 : 10_000),
    messageKs: smoke ? [20] : [10, 100, 1_000],
    // Parallel backfill: windows paged at once, against a simulator with a real API's latency.
    parallelConversations: num(flags["parallel-conversations"], smoke ? 300 : quick ? 3_000 : 10_000),
    parallelLatencyMs: 50,
    parallelWindows: smoke ? [1, 4] : [1, 2, 4, 8],
    // TalkJS's reported limit is 9/s with a burst of 600: a real measurement takes minutes. The
    // smoke run keeps the shape (burst, then the limit) at a size that takes seconds.
    budgetConversations: num(flags["budget-conversations"], smoke ? 150 : quick ? 1_000 : 3_000),
    budgetLimit: smoke ? { perSecond: 60, burst: 30 } : { perSecond: 9, burst: 600 },
    budgetCeilings: (flags["budget-ceilings"] ?? (smoke ? "200" : "50,8")).split(",").map(Number),
    listingConversations: num(flags["listing-conversations"], smoke ? 300 : quick ? 3_000 : 20_000),
    listingLatencyMs: num(flags["listing-latency-ms"], smoke ? 5 : 100),
    only: only as Set<SectionName>,
  };
}
