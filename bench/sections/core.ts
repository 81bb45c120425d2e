// Items 1, 2, 4, 5, 6 on the core app, at zero latency (our CPU is the limit):
// 1 backfill vs fetch-only, 2 batch vs naive upsert, 4 incremental sync cost, 5 + 6 reconcile.

import { touch } from "../lib/changes.ts";
import { type Db, freshDb, invalidateContentHashes } from "../lib/db.ts";
import { startSim, task } from "../lib/processes.ts";
import { fmt, median, ok, push, rate, spread } from "../lib/results.ts";
import type { Section } from "../lib/section.ts";
import type { TaskResult } from "../task.ts";

export const core: Section = async ({ config, results: { row }, keep, reconcileRss }) => {
  const { conversations: N, reps: REPS, databases: DATABASES } = config;
  const sim = await startSim(N, 0);
  const fetchRates: number[] = [];
  const backfill: Record<string, TaskResult[]> = {};
  const ratio: Record<string, number[]> = {};
  const mirrors: Record<string, Db> = {};
  for (let rep = 0; rep < REPS; rep++) {
    const f = await task({ op: "fetch", simUrl: sim.url });
    fetchRates.push(rate(f));
    for (const provider of DATABASES) {
      const db = await freshDb(provider);
      const b = await task({ op: "backfill", simUrl: sim.url, dbUrl: db.url });
      push(backfill, provider, b);
      push(ratio, provider, rate(b) / rate(f));
      if (rep === REPS - 1) {
        mirrors[provider] = db;
        keep(db);
      } else await db.drop();
    }
  }
  row("1", "fetch-only, 0 ms latency", `${fmt(median(fetchRates))} conv/s${spread(fetchRates)}`);
  for (const p of DATABASES) {
    const rs = (backfill[p] ?? []).map(rate);
    const bs = backfill[p] ?? [];
    row("1", `backfill ${p}, 0 ms`, `${fmt(median(rs))} conv/s${spread(rs)}`);
    row(
      "1",
      `backfill/fetch-only ${p}, 0 ms`,
      `${fmt(median(ratio[p] ?? []), 2)}${spread(ratio[p] ?? [], 2)}`,
      ">= 0.9",
      ok(median(ratio[p] ?? []) >= 0.9),
    );
    row(
      "rec",
      `backfill ${fmt(N)} ${p}: time, peak RSS`,
      `${fmt(median(bs.map((b) => b.seconds)), 1)} s, ${fmt(median(bs.map((b) => b.maxRssMb)))} MB`,
      "completes",
      ok(bs.every((b) => b.conversations >= N)),
    );
  }

  // 2: the naive per-row upsert, over the first naiveLimit conversations of the same listing.
  for (const provider of DATABASES) {
    const db = await freshDb(provider);
    try {
      const n = await task({ op: "naive", simUrl: sim.url, dbUrl: db.url, limit: config.naiveLimit });
      const speedup = median((backfill[provider] ?? []).map(rate)) / rate(n);
      row("2", `naive upsert ${provider} (first ${fmt(n.conversations)})`, `${fmt(rate(n))} conv/s`);
      row("2", `backfill/naive ${provider}`, `${fmt(speedup, 1)}x`, ">= 10x", ok(speedup >= 10));
    } finally {
      await db.drop();
    }
  }

  // 4: incremental cost on the N mirror: k changed conversations, one sync each.
  for (const provider of DATABASES) {
    const db = mirrors[provider] as Db;
    await task({ op: "sync", simUrl: sim.url, dbUrl: db.url }); // settles the watermarks
    for (const [round, k] of config.ks.entries()) {
      await touch(sim, db, k, round);
      const s = await task({ op: "sync", simUrl: sim.url, dbUrl: db.url });
      const bound = k === 0 ? 2 : 2 * Math.ceil(k / 30) + 4;
      row(
        "4",
        `sync ${provider}, k=${fmt(k)} changed`,
        `${s.requests} requests, ${fmt(s.seconds, 2)} s, ${s.conversations} fetched`,
        k === 0 ? "<= 2 requests" : `~k/30 + c (<= ${bound})`,
        ok(s.requests <= bound && s.conversations >= k),
      );
    }
  }

  // 5 + 6: reconcile over the unchanged mirror, then over one where every row changed (the
  // stored content hashes are invalidated, so every row is rewritten exactly as if each
  // conversation had been edited at TalkJS).
  for (const provider of DATABASES) {
    const db = mirrors[provider] as Db;
    // Catch up first: the other database's rounds above changed conversations at the simulator.
    await task({ op: "sync", simUrl: sim.url, dbUrl: db.url });
    const same: TaskResult[] = [];
    const changed: TaskResult[] = [];
    for (let rep = 0; rep < REPS; rep++) {
      same.push(await task({ op: "reconcile", simUrl: sim.url, dbUrl: db.url }));
      await invalidateContentHashes(db);
      changed.push(await task({ op: "reconcile", simUrl: sim.url, dbUrl: db.url }));
    }
    const written = (r: TaskResult) => (r.inserted ?? 0) + (r.updated ?? 0);
    const speed = same.map((s, i) => (changed[i] as TaskResult).seconds / s.seconds);
    row(
      "6",
      `reconcile ${provider} unchanged: rows written`,
      `${Math.max(...same.map(written))} of ${fmt(N)} (${fmt(median(same.map((r) => r.seconds)), 1)} s)`,
      "0",
      ok(same.every((r) => written(r) === 0)),
    );
    row(
      "6",
      `reconcile ${provider} all changed: rows written`,
      `${fmt(median(changed.map(written)))} (${fmt(median(changed.map((r) => r.seconds)), 1)} s)`,
    );
    row(
      "6",
      `changed/unchanged time ${provider}`,
      `${fmt(median(speed), 2)}x${spread(speed, 2)}`,
      ">= 2x",
      ok(median(speed) >= 2),
    );
    const vsBackfill = median(same.map(rate)) / median((backfill[provider] ?? []).map(rate));
    row(
      "5",
      `reconcile/backfill throughput ${provider}`,
      `${fmt(vsBackfill, 2)}`,
      ">= 0.8",
      ok(vsBackfill >= 0.8),
    );
    reconcileRss[provider] = median(same.map((r) => r.maxRssMb));
    row("5", `reconcile ${fmt(N)} ${provider}: peak RSS`, `${fmt(reconcileRss[provider] ?? 0)} MB`);
  }
  await sim.stop();
};
