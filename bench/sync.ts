// `npm run bench`: end-to-end benchmarks of the mirror against the simulator on loopback.
// The simulator runs in its own process (its CPU is TalkJS's, not ours) and every measured
// operation runs in a fresh child process (bench/task.ts), so peak RSS is that operation's own.
// Several operations are measured side by side in each repetition and ratios are taken within a
// repetition, then the median: the machine is shared and noisy, absolute numbers drift.
// One file per section in bench/sections/, the shared parts in bench/lib/.
//
// usage: tsx bench/sync.ts [--conversations 100000] [--reps 3] [--databases sqlite,postgresql]
//          [--latency-ms 20] [--latency-conversations 10000] [--naive-limit 3000]
//          [--message-conversations 10000] [--parallel-conversations 10000] [--large 0] [--quick] [--smoke]
//          [--budget-conversations 3000] [--budget-ceilings 50,8]
//          [--listing-conversations 20000] [--listing-latency-ms 100]
//          [--only core,messages,parallel,large,latency,budget,listing]   (default: all; large needs --large N)
// PostgreSQL: BENCH_DATABASE_URL admin URL (default postgresql://postgres@127.0.0.1:5432/postgres);
// scratch databases are created and dropped.
import os from "node:os";
import { parseBenchArgs, SECTIONS, type SectionName } from "./lib/config.ts";
import type { Db } from "./lib/db.ts";
import { fmt, ResultsTable } from "./lib/results.ts";
import type { BenchContext, Section } from "./lib/section.ts";
import { budget } from "./sections/budget.ts";
import { core } from "./sections/core.ts";
import { large } from "./sections/large.ts";
import { latency } from "./sections/latency.ts";
import { listing } from "./sections/listing.ts";
import { messages } from "./sections/messages.ts";
import { parallel } from "./sections/parallel.ts";

const RUN: Record<SectionName, Section> = { core, messages, parallel, large, latency, budget, listing };

async function main(): Promise<void> {
  const config = parseBenchArgs();
  const started = performance.now();
  console.log(
    `talkjs-mirror bench: ${os.cpus().length} cores (${os.cpus()[0]?.model ?? "?"}), ` +
      `${fmt(os.totalmem() / 2 ** 30, 1)} GiB RAM, Node ${process.version}, ${os.platform()} ${os.release()}`,
  );
  console.log(
    `N=${fmt(config.conversations)} conversations, ${config.reps} run(s), databases ${config.databases.join("+")}, ` +
      "page size 30, client rate limit lifted unless stated",
  );
  const kept: Db[] = [];
  const ctx: BenchContext = {
    config,
    results: new ResultsTable(),
    keep: (db) => kept.push(db),
    reconcileRss: {},
  };
  try {
    for (const name of SECTIONS) if (config.only.has(name)) await RUN[name](ctx);
  } finally {
    for (const db of kept) await db.drop().catch(() => {});
  }
  console.log("");
  ctx.results.print();
  console.log(`\n(total ${fmt((performance.now() - started) / 1000, 0)} s)`);
}

await main();
