// Item 8: the API budget. A first mirror (conversations, then every history) against the
// simulator's per-app limit like TalkJS's (9/s, burst 600): how close the wall time comes to the
// floor = (requests the design needs − burst) ÷ limit, with the client's ceiling above the limit
// (the governor must find it) and at the default 8/s (8/9 caps it at 0.89). Requests the design
// needs = those answered (429s are the cost of finding the limit, not of the design).
import { freshDb } from "../lib/db.ts";
import { startSim, task } from "../lib/processes.ts";
import { fmt, ok } from "../lib/results.ts";
import type { Section } from "../lib/section.ts";

export const budget: Section = async ({ config, results: { row } }) => {
  const { budgetConversations: n, budgetLimit: limit, budgetCeilings } = config;
  const provider = config.databases[0] ?? "sqlite";
  for (const ceiling of budgetCeilings) {
    // A fresh simulator per run: its bucket starts full (the burst) like an app left alone.
    const sim = await startSim(n, 0, [
      "--rate-limit",
      String(limit.perSecond),
      "--rate-burst",
      String(limit.burst),
    ]);
    const db = await freshDb(provider);
    try {
      const r = await task({
        op: "backfill+messages",
        simUrl: sim.url,
        dbUrl: db.url,
        rateLimit: { perSecond: ceiling, burst: 20 },
        maxConcurrency: 8,
        concurrency: 4,
        messageConcurrency: 8,
      });
      const needed = r.requests - r.rateLimited;
      const floor = Math.max(0, needed - limit.burst) / limit.perSecond;
      const efficiency = floor / r.seconds;
      const target = ceiling > limit.perSecond ? 0.9 : 0.85;
      const m = r.messages;
      row(
        "8",
        `backfill+messages ${provider}, ${fmt(n)} conv, server ${limit.perSecond}/s burst ${limit.burst}, client ceiling ${ceiling}/s`,
        `${fmt(r.seconds, 1)} s vs floor ${fmt(floor, 1)} s = ${fmt(efficiency, 2)}; ${fmt(r.requests)} requests, ${fmt(r.rateLimited)} × 429 (${fmt((100 * r.rateLimited) / r.requests, 1)}%), paused ${fmt(r.pausedMs / 1000, 1)} s; ${fmt(m?.requests ?? 0)} message requests for ${fmt(m?.conversations ?? 0)} conv = ${fmt((m?.requests ?? 0) / Math.max(1, m?.conversations ?? 0), 2)}/conv`,
        `>= ${target}`,
        ok(efficiency >= target),
      );
    } finally {
      await db.drop();
      await sim.stop();
    }
  }
};
