// Item 3: parallel backfill, 1/2/4/8 windows, at 50 ms per request; the client may run 8 requests
// at once in every case (so only the windows differ) and its rate limit is lifted.
import { freshDb } from "../lib/db.ts";
import { startSim, task } from "../lib/processes.ts";
import { fmt, median, push, rate, spread } from "../lib/results.ts";
import type { Section } from "../lib/section.ts";

export const parallel: Section = async ({ config, results: { row } }) => {
  const { parallelConversations: n, parallelLatencyMs: latencyMs, parallelWindows } = config;
  const psim = await startSim(n, latencyMs);
  for (const provider of config.databases) {
    const rates: Record<string, number[]> = {};
    const speedups: Record<string, number[]> = {};
    for (let rep = 0; rep < config.reps; rep++) {
      let base = 0;
      for (const windows of parallelWindows) {
        const db = await freshDb(provider);
        try {
          const b = await task({
            op: "backfill",
            simUrl: psim.url,
            dbUrl: db.url,
            concurrency: windows,
            maxConcurrency: 8,
          });
          if (b.conversations < n) throw new Error(`parallel backfill missed rows: ${b.conversations}`);
          push(rates, String(windows), rate(b));
          if (windows === 1) base = rate(b);
          push(speedups, String(windows), rate(b) / base);
        } finally {
          await db.drop();
        }
      }
    }
    for (const windows of parallelWindows) {
      const rs = rates[String(windows)] ?? [];
      const sp = speedups[String(windows)] ?? [];
      row(
        "3",
        `backfill ${provider}, ${latencyMs} ms, ${windows} window(s), ${fmt(n)}`,
        `${fmt(median(rs))} conv/s${spread(rs)}; speed-up ${fmt(median(sp), 2)}x${spread(sp, 2)}`,
      );
    }
  }
  await psim.stop();
};
