// Item 1 again, with a per-request latency closer to a real API (the pipeline's home ground).
import { freshDb } from "../lib/db.ts";
import { startSim, task } from "../lib/processes.ts";
import { fmt, median, ok, push, rate, spread } from "../lib/results.ts";
import type { Section } from "../lib/section.ts";

export const latency: Section = async ({ config, results: { row } }) => {
  const { latencyMs, latencyConversations } = config;
  const slow = await startSim(latencyConversations, latencyMs);
  const sf: number[] = [];
  const sr: Record<string, number[]> = {};
  for (let rep = 0; rep < config.reps; rep++) {
    const f = await task({ op: "fetch", simUrl: slow.url });
    sf.push(rate(f));
    for (const provider of config.databases) {
      const db = await freshDb(provider);
      try {
        const b = await task({ op: "backfill", simUrl: slow.url, dbUrl: db.url });
        push(sr, provider, rate(b) / rate(f));
      } finally {
        await db.drop();
      }
    }
  }
  row(
    "1",
    `fetch-only, ${latencyMs} ms latency, ${fmt(latencyConversations)}`,
    `${fmt(median(sf))} conv/s${spread(sf)}`,
  );
  for (const p of config.databases) {
    const rs = sr[p] ?? [];
    row(
      "1",
      `backfill/fetch-only ${p}, ${latencyMs} ms`,
      `${fmt(median(rs), 2)}${spread(rs, 2)}`,
      ">= 0.9",
      ok(median(rs) >= 0.9),
    );
  }
  await slow.stop();
};
