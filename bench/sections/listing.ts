// Issue 14's listing figure: conversation listing requests of our pager vs plain `startingAfter`
// paging (one request per 30 conversations + the empty page that ends it), side by side on the
// same app at a real API's latency; then the sequential backfill (same pager, with the database)
// against the plain pager's speed. Request counts are deterministic; one run is enough for them.
import { freshDb } from "../lib/db.ts";
import { startSim, task } from "../lib/processes.ts";
import { fmt, ok, rate } from "../lib/results.ts";
import type { Section } from "../lib/section.ts";

export const listing: Section = async ({ config, results: { row } }) => {
  const { listingConversations: n, listingLatencyMs: latencyMs } = config;
  const sim = await startSim(n, latencyMs);
  try {
    const need = Math.ceil(n / 30) + 1;
    const plain = await task({ op: "plain", simUrl: sim.url });
    const ours = await task({ op: "fetch", simUrl: sim.url });
    if (plain.conversations !== n || ours.conversations !== n)
      throw new Error(`listing: plain ${plain.conversations}, ours ${ours.conversations} of ${n}`);
    const over = (x: number) => `${fmt((x / plain.listRequests - 1) * 100, 1)}%`;
    const where = `${fmt(n)} conversations, ${latencyMs} ms`;
    row(
      "14",
      `list requests, plain startingAfter paging, ${where}`,
      `${fmt(plain.listRequests)} (${fmt(plain.seconds, 1)} s)`,
      `ceil(N/30)+1 = ${fmt(need)}`,
      ok(plain.listRequests === need),
    );
    row(
      "14",
      `list requests, our pager (fetch only), ${where}`,
      `${fmt(ours.listRequests)} + ${ours.requests - ours.listRequests} GET, ${over(ours.listRequests)} (${fmt(ours.seconds, 1)} s)`,
      "≤ +3%",
      ok(ours.listRequests <= plain.listRequests * 1.03),
    );
    for (const provider of config.databases.slice(0, 1)) {
      const db = await freshDb(provider);
      try {
        const b = await task({ op: "backfill", simUrl: sim.url, dbUrl: db.url });
        if (b.conversations !== n) throw new Error(`listing: backfill fetched ${b.conversations} of ${n}`);
        row(
          "14",
          `backfill ${provider}, ${where}: list requests; speed / plain pager's`,
          `${fmt(b.listRequests)} (${over(b.listRequests)}); ${fmt(rate(b) / rate(plain), 2)}× (${fmt(b.seconds, 1)} s)`,
          "≤ +3%",
          ok(b.listRequests <= plain.listRequests * 1.03),
        );
      } finally {
        await db.drop();
      }
    }
  } finally {
    await sim.stop();
  }
};
