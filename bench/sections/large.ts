// Item 5 on a large app (--large N, SQLite): the same reconcile as on the core app, for the memory
// difference; and the simulator's own start time and memory at that size.
import { freshDb } from "../lib/db.ts";
import { startSim, task } from "../lib/processes.ts";
import { fmt, ok } from "../lib/results.ts";
import type { Section } from "../lib/section.ts";

export const large: Section = async ({ config, results: { row }, keep, reconcileRss }) => {
  const { large: LARGE, conversations: N } = config;
  if (LARGE <= 0) return;
  if (reconcileRss.sqlite === undefined) {
    // Run alone (--only large): measure the N baseline here, the same way.
    const base = await startSim(N, 0);
    const db0 = await freshDb("sqlite");
    try {
      await task({ op: "backfill", simUrl: base.url, dbUrl: db0.url });
      const r0 = await task({ op: "reconcile", simUrl: base.url, dbUrl: db0.url });
      reconcileRss.sqlite = r0.maxRssMb;
      row(
        "5",
        `reconcile ${fmt(N)} sqlite: peak RSS, time`,
        `${fmt(r0.maxRssMb)} MB, ${fmt(r0.seconds, 1)} s`,
      );
    } finally {
      await db0.drop();
      await base.stop();
    }
  }
  const simStart = performance.now();
  const big = await startSim(LARGE, 0);
  row(
    "5",
    `simulator start, ${fmt(LARGE)} conversations`,
    `${fmt((performance.now() - simStart) / 1000, 1)} s`,
  );
  const db = await freshDb("sqlite");
  keep(db);
  const b = await task({ op: "backfill", simUrl: big.url, dbUrl: db.url });
  row(
    "rec",
    `backfill ${fmt(LARGE)} sqlite: time, peak RSS`,
    `${fmt(b.seconds, 1)} s, ${fmt(b.maxRssMb)} MB`,
  );
  const r = await task({ op: "reconcile", simUrl: big.url, dbUrl: db.url });
  const diff = r.maxRssMb - (reconcileRss.sqlite ?? 0);
  row("5", `reconcile ${fmt(LARGE)} sqlite: peak RSS, time`, `${fmt(r.maxRssMb)} MB, ${fmt(r.seconds, 1)} s`);
  row("5", `peak RSS ${fmt(LARGE)} - ${fmt(N)}`, `${fmt(diff)} MB`, "<= 50 MB", ok(diff <= 50));
  row("5", `simulator ${fmt(LARGE)}: its own peak RSS`, `${fmt(big.peakRssMb())} MB`);
  await big.stop();
};
