// `npm run bench`: end-to-end benchmarks of the mirror against the simulator on loopback.
// The simulator runs in its own process (its CPU is TalkJS's, not ours) and every measured
// operation runs in a fresh child process (bench/task.ts), so peak RSS is that operation's own.
// Several operations are measured side by side in each repetition and ratios are taken within a
// repetition, then the median: the machine is shared and noisy, absolute numbers drift.
//
// usage: tsx bench/sync.ts [--conversations 100000] [--reps 3] [--databases sqlite,postgresql]
//          [--latency-ms 20] [--latency-conversations 10000] [--naive-limit 3000]
//          [--message-conversations 10000] [--parallel-conversations 10000] [--large 0] [--quick] [--smoke]
//          [--only core,messages,parallel,large,latency]   (default: all; large needs --large N)
// PostgreSQL: BENCH_DATABASE_URL admin URL (default postgresql://postgres@127.0.0.1:5432/postgres);
// scratch databases are created and dropped.
import { type ChildProcess, spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import pg from "pg";
import type { DatabaseProvider } from "../src/store/database-url.ts";
import { openStore } from "../src/store/store.ts";
import type { TaskResult, TaskSpec } from "./task.ts";

const ROOT = path.resolve(import.meta.dirname, "..");
const ADMIN = process.env.BENCH_DATABASE_URL ?? "postgresql://postgres@127.0.0.1:5432/postgres";
const APP = "bench";
const SECRET = "sk_test_bench";

const { values: flags } = parseArgs({
  options: {
    conversations: { type: "string" },
    reps: { type: "string" },
    databases: { type: "string" },
    "latency-ms": { type: "string", default: "20" },
    "latency-conversations": { type: "string" },
    "naive-limit": { type: "string" },
    "message-conversations": { type: "string" },
    "parallel-conversations": { type: "string" },
    large: { type: "string", default: "0" },
    only: { type: "string" },
    quick: { type: "boolean", default: false },
    smoke: { type: "boolean", default: false },
  },
});
const smoke = flags.smoke === true;
const quick = flags.quick === true;
const num = (v: string | undefined, fallback: number) => (v === undefined ? fallback : Number(v));
const N = num(flags.conversations, smoke ? 300 : quick ? 10_000 : 100_000);
const REPS = num(flags.reps, smoke || quick ? 1 : 3);
const LATENCY_MS = num(flags["latency-ms"], 20);
const LATENCY_N = num(flags["latency-conversations"], smoke ? 200 : quick ? 3_000 : 10_000);
const NAIVE_LIMIT = num(flags["naive-limit"], smoke ? 100 : 3_000);
const LARGE = num(flags.large, 0);
// Messages: a generated conversation has ~17 messages on average (a long tail up to 3,000), so a
// smaller app than N keeps the message backfill to a minute or two.
const MESSAGE_N = num(flags["message-conversations"], smoke ? 150 : quick ? 2_000 : 10_000);
const MESSAGE_KS = smoke ? [20] : [10, 100, 1_000];
// Parallel backfill: windows paged at once, against a simulator with a real API's latency.
const PARALLEL_N = num(flags["parallel-conversations"], smoke ? 300 : quick ? 3_000 : 10_000);
const PARALLEL_LATENCY_MS = 50;
const PARALLEL_WINDOWS = smoke ? [1, 4] : [1, 2, 4, 8];
/** Conversations the k new messages are spread over (k <= this: one message each). */
const MESSAGE_SPREAD = 250;
// The smoke run (CI) keeps every step but on SQLite only and tiny sizes, so it stays fast.
const DATABASES = (flags.databases ?? (smoke ? "sqlite" : "sqlite,postgresql")).split(
  ",",
) as DatabaseProvider[];
const SECTIONS = ["core", "messages", "parallel", "large", "latency"] as const;
const ONLY = new Set((flags.only ?? SECTIONS.join(",")).split(","));
for (const o of ONLY)
  if (!(SECTIONS as readonly string[]).includes(o)) throw new Error(`--only: unknown section "${o}"`);
const section = (name: (typeof SECTIONS)[number]) => ONLY.has(name);
const KS = smoke ? [0, 40] : [0, 10, 100, 1_000];

// ---- processes ------------------------------------------------------------------------------

interface Sim {
  url: string;
  /** The simulator process's peak RSS so far (Linux /proc), in MB. */
  peakRssMb(): number;
  stop(): Promise<void>;
}

const children = new Set<ChildProcess>();
process.on("exit", () => {
  for (const c of children) c.kill("SIGKILL");
});

async function startSim(conversations: number, latencyMs: number): Promise<Sim> {
  const args = ["--import", "tsx", "src/cli.ts", "simulator", "--port", "0", "--app-id", APP];
  args.push("--secret-key", SECRET, "--conversations", String(conversations), "--seed", "7");
  args.push("--latency-ms", String(latencyMs));
  const child = spawn(process.execPath, args, { cwd: ROOT, stdio: ["ignore", "pipe", "inherit"] });
  child.stdout?.setEncoding("utf8"); // decode across chunk boundaries
  children.add(child);
  const url = await new Promise<string>((resolve, reject) => {
    let out = "";
    child.stdout?.on("data", (c: string) => {
      out += c;
      const m = /listening on (http:\/\/\S+)/.exec(out);
      if (m?.[1]) resolve(m[1]);
    });
    child.on("exit", (code) => reject(new Error(`simulator exited (${code}) before listening: ${out}`)));
  });
  return {
    url,
    peakRssMb: () => {
      const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${child.pid}/status`, "utf8"));
      return m?.[1] ? Number(m[1]) / 1024 : Number.NaN;
    },
    stop: async () => {
      const closed = new Promise((r) => child.on("exit", r));
      child.kill("SIGTERM");
      await closed;
      children.delete(child);
    },
  };
}

async function task(spec: Omit<TaskSpec, "appId" | "secretKey">): Promise<TaskResult> {
  const full: TaskSpec = { appId: APP, secretKey: SECRET, ...spec };
  const child = spawn(process.execPath, ["--import", "tsx", "bench/task.ts", JSON.stringify(full)], {
    cwd: ROOT,
    stdio: ["ignore", "pipe", "inherit"],
  });
  child.stdout?.setEncoding("utf8"); // decode across chunk boundaries
  children.add(child);
  let out = "";
  child.stdout?.on("data", (c: string) => {
    out += c;
  });
  const code = await new Promise<number | null>((r) => child.on("exit", r));
  children.delete(child);
  const line = out.split("\n").find((l) => l.startsWith("RESULT "));
  if (code !== 0 || !line) throw new Error(`bench task ${spec.op} failed (exit ${code}): ${out}`);
  return JSON.parse(line.slice("RESULT ".length)) as TaskResult;
}

// ---- databases ------------------------------------------------------------------------------

interface Db {
  provider: DatabaseProvider;
  url: string;
  drop(): Promise<void>;
}

async function admin(sql: string): Promise<void> {
  const c = new pg.Client({ connectionString: ADMIN });
  await c.connect();
  try {
    await c.query(sql);
  } finally {
    await c.end();
  }
}

async function freshDb(provider: DatabaseProvider): Promise<Db> {
  if (provider === "sqlite") {
    const dir = mkdtempSync(path.join(os.tmpdir(), "talkjs-bench-"));
    return {
      provider,
      url: `file:${dir}/mirror.db`,
      drop: async () => rmSync(dir, { recursive: true, force: true }),
    };
  }
  const name = `talkjs_bench_${randomUUID().replace(/-/g, "").slice(0, 12)}`;
  await admin(`CREATE DATABASE "${name}"`);
  const u = new URL(ADMIN);
  u.pathname = `/${name}`;
  return { provider, url: u.toString(), drop: () => admin(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`) };
}

async function withStore<T>(db: Db, fn: (store: Awaited<ReturnType<typeof openStore>>) => Promise<T>) {
  const store = await openStore({ url: db.url });
  try {
    return await fn(store);
  } finally {
    await store.close();
  }
}

/** k conversations get a new message at the simulator, through its HTTP API like TalkJS. */
async function touch(sim: Sim, db: Db, k: number, round: number): Promise<void> {
  if (k === 0) return;
  const rows = await withStore(db, (s) =>
    s.queryRaw(`SELECT id FROM conversations WHERE app_id = '${APP}' ORDER BY id LIMIT ${k}`),
  );
  for (const { id } of rows) {
    const res = await fetch(`${sim.url}/v1/${APP}/conversations/${encodeURIComponent(String(id))}/messages`, {
      method: "POST",
      headers: { authorization: `Bearer ${SECRET}`, "content-type": "application/json" },
      body: JSON.stringify([{ text: `bench change ${round}`, type: "SystemMessage" }]),
    });
    if (!res.ok) throw new Error(`POST message failed: ${res.status} ${await res.text()}`);
  }
}

/**
 * k new messages at the simulator, spread round-robin over min(k, MESSAGE_SPREAD) conversations
 * that already have messages (a reply in an active conversation, the common case). Returns how
 * many conversations changed.
 */
async function addMessages(sim: Sim, db: Db, k: number, round: number): Promise<number> {
  const n = Math.min(k, MESSAGE_SPREAD);
  // Sorted here, not by ORDER BY: PostgreSQL's collation orders ids differently from SQLite's
  // binary order, and both databases must get the same conversations (their histories differ).
  const all = await withStore(db, (s) =>
    s.queryRaw(`SELECT id FROM conversations WHERE app_id = '${APP}' AND last_message_id IS NOT NULL`),
  );
  const ids = all.map((r) => String(r.id)).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const rows = ids.slice(round * MESSAGE_SPREAD, round * MESSAGE_SPREAD + n).map((id) => ({ id }));
  for (const [i, { id }] of rows.entries()) {
    const count = Math.floor(k / n) + (i < k % n ? 1 : 0);
    const body = Array.from({ length: count }, (_, j) => ({
      text: `bench ${round}.${j}`,
      type: "SystemMessage",
    }));
    const res = await fetch(`${sim.url}/v1/${APP}/conversations/${encodeURIComponent(String(id))}/messages`, {
      method: "POST",
      headers: { authorization: `Bearer ${SECRET}`, "content-type": "application/json" },
      body: JSON.stringify(body),
    });
    if (!res.ok) throw new Error(`POST messages failed: ${res.status} ${await res.text()}`);
  }
  return rows.length;
}

// ---- stats and output -----------------------------------------------------------------------

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
};
function push<T>(map: Record<string, T[]>, key: string, value: T): void {
  const list = map[key] ?? [];
  list.push(value);
  map[key] = list;
}
const rate = (r: TaskResult) => r.conversations / r.seconds;
const fmt = (x: number, digits = 0) =>
  x.toLocaleString("en-US", { minimumFractionDigits: digits, maximumFractionDigits: digits });
const spread = (xs: number[], digits = 0) =>
  xs.length > 1 ? ` (${xs.map((x) => fmt(x, digits)).join(", ")})` : "";

const table: string[][] = [];
function row(item: string, measure: string, value: string, target: string, verdict: string): void {
  table.push([item, measure, value, target, verdict]);
  console.error(`  ${item} | ${measure} | ${value}`);
}
const ok = (pass: boolean) => (pass ? "met" : "MISSED");

function printTable(): void {
  const head = ["item", "measure", "result (median; runs)", "target", "verdict"];
  const widths = head.map((h, i) => Math.max(h.length, ...table.map((r) => (r[i] ?? "").length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join(" | ")} |`;
  console.log(line(head));
  console.log(`|${widths.map((w) => "-".repeat(w + 2)).join("|")}|`);
  for (const r of table) console.log(line(r));
}

// ---- the suite ------------------------------------------------------------------------------

async function main(): Promise<void> {
  const started = performance.now();
  console.log(
    `talkjs-mirror bench: ${os.cpus().length} cores (${os.cpus()[0]?.model ?? "?"}), ` +
      `${fmt(os.totalmem() / 2 ** 30, 1)} GiB RAM, Node ${process.version}, ${os.platform()} ${os.release()}`,
  );
  console.log(
    `N=${fmt(N)} conversations, ${REPS} run(s), databases ${DATABASES.join("+")}, page size 30, ` +
      `client rate limit lifted unless stated`,
  );
  const dbsToDrop: Db[] = [];
  try {
    const reconcileRss: Record<string, number> = {};
    // 1 + 2: backfill vs fetch-only, on a zero-latency simulator (our CPU is the limit) ...
    if (section("core")) {
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
            dbsToDrop.push(db);
          } else await db.drop();
        }
      }
      row("1", "fetch-only, 0 ms latency", `${fmt(median(fetchRates))} conv/s${spread(fetchRates)}`, "", "");
      for (const p of DATABASES) {
        const rs = (backfill[p] ?? []).map(rate);
        const bs = backfill[p] ?? [];
        row("1", `backfill ${p}, 0 ms`, `${fmt(median(rs))} conv/s${spread(rs)}`, "", "");
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

      // 2: the naive per-row upsert, over the first NAIVE_LIMIT conversations of the same listing.
      for (const provider of DATABASES) {
        const db = await freshDb(provider);
        try {
          const n = await task({ op: "naive", simUrl: sim.url, dbUrl: db.url, limit: NAIVE_LIMIT });
          const speedup = median((backfill[provider] ?? []).map(rate)) / rate(n);
          row(
            "2",
            `naive upsert ${provider} (first ${fmt(n.conversations)})`,
            `${fmt(rate(n))} conv/s`,
            "",
            "",
          );
          row("2", `backfill/naive ${provider}`, `${fmt(speedup, 1)}x`, ">= 10x", ok(speedup >= 10));
        } finally {
          await db.drop();
        }
      }

      // 4: incremental cost on the N mirror: k changed conversations, one sync each.
      for (const provider of DATABASES) {
        const db = mirrors[provider] as Db;
        await task({ op: "sync", simUrl: sim.url, dbUrl: db.url }); // settles the watermarks
        for (const [round, k] of KS.entries()) {
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
          await withStore(db, (s) =>
            s.queryRaw(`UPDATE conversations SET content_hash = 'stale' WHERE app_id = '${APP}'`),
          );
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
          "",
          "",
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
        row(
          "5",
          `reconcile ${fmt(N)} ${provider}: peak RSS`,
          `${fmt(reconcileRss[provider] ?? 0)} MB`,
          "",
          "",
        );
      }
      await sim.stop();
    }

    // 7: messages. A message backfill (every history, after the conversation backfill), then
    // k new messages and the sync job (conversation sync + message pass) that picks them up.
    if (section("messages")) {
      for (const provider of DATABASES) {
        // A fresh simulator per database: the k rounds add messages, and a conversation whose
        // newest messages share one millisecond costs more the first time it changes than after.
        const msim = await startSim(MESSAGE_N, 0);
        const db = await freshDb(provider);
        try {
          await task({ op: "backfill", simUrl: msim.url, dbUrl: db.url });
          const runs: TaskResult[] = [];
          for (let rep = 0; rep < REPS; rep++) {
            if (rep > 0)
              await withStore(db, (s) =>
                s.queryRaw(`DELETE FROM message_sync_state WHERE app_id = '${APP}'`),
              );
            if (rep > 0)
              await withStore(db, (s) => s.queryRaw(`DELETE FROM messages WHERE app_id = '${APP}'`));
            runs.push(await task({ op: "messages", simUrl: msim.url, dbUrl: db.url }));
          }
          const m = (r: TaskResult) =>
            r.messages ?? { seconds: 1, fetched: 0, conversations: 1, requests: 0 };
          const rates = runs.map((r) => m(r).fetched / m(r).seconds);
          const last = m(runs.at(-1) as TaskResult);
          row(
            "7",
            `message backfill ${provider} (${fmt(last.fetched)} messages, ${fmt(last.conversations)} conv)`,
            `${fmt(median(rates))} msg/s${spread(rates)}`,
            "",
            "",
          );
          row(
            "7",
            `message backfill ${provider}: requests/conversation, peak RSS`,
            `${fmt(last.requests / Math.max(1, last.conversations), 2)}, ${fmt(median(runs.map((r) => r.maxRssMb)))} MB`,
            "~1 + messages/100",
            "",
          );
          for (const [round, k] of MESSAGE_KS.entries()) {
            const changed = await addMessages(msim, db, k, round);
            const s = await task({ op: "sync+messages", simUrl: msim.url, dbUrl: db.url });
            const mm = m(s);
            row(
              "7",
              `sync ${provider}, k=${fmt(k)} new messages in ${fmt(changed)} conv`,
              `${mm.requests} message requests (${fmt(mm.seconds, 2)} s), +${s.requests - mm.requests} conversation requests; ${fmt(s.seconds, 2)} s total`,
              `<= ${changed} + 2`,
              ok(mm.requests <= changed + 2 && mm.fetched >= k),
            );
          }
        } finally {
          await db.drop();
          await msim.stop();
        }
      }
    }

    // 3: parallel backfill, 1/2/4/8 windows, at 50 ms per request; the client may run 8 requests
    // at once in every case (so only the windows differ) and its rate limit is lifted.
    if (section("parallel")) {
      const psim = await startSim(PARALLEL_N, PARALLEL_LATENCY_MS);
      for (const provider of DATABASES) {
        const rates: Record<string, number[]> = {};
        const speedups: Record<string, number[]> = {};
        for (let rep = 0; rep < REPS; rep++) {
          let base = 0;
          for (const windows of PARALLEL_WINDOWS) {
            const db = await freshDb(provider);
            try {
              const b = await task({
                op: "backfill",
                simUrl: psim.url,
                dbUrl: db.url,
                concurrency: windows,
                maxConcurrency: 8,
              });
              if (b.conversations < PARALLEL_N)
                throw new Error(`parallel backfill missed rows: ${b.conversations}`);
              push(rates, String(windows), rate(b));
              if (windows === 1) base = rate(b);
              push(speedups, String(windows), rate(b) / base);
            } finally {
              await db.drop();
            }
          }
        }
        for (const windows of PARALLEL_WINDOWS) {
          const rs = rates[String(windows)] ?? [];
          const sp = speedups[String(windows)] ?? [];
          row(
            "3",
            `backfill ${provider}, ${PARALLEL_LATENCY_MS} ms, ${windows} window(s), ${fmt(PARALLEL_N)}`,
            `${fmt(median(rs))} conv/s${spread(rs)}; speed-up ${fmt(median(sp), 2)}x${spread(sp, 2)}`,
            "",
            "",
          );
        }
      }
      await psim.stop();
    }

    // 5: the same reconcile on LARGE conversations (SQLite), for the memory difference.
    if (LARGE > 0 && section("large")) {
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
            "",
            "",
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
        "",
        "",
      );
      const db = await freshDb("sqlite");
      dbsToDrop.push(db);
      const b = await task({ op: "backfill", simUrl: big.url, dbUrl: db.url });
      row(
        "rec",
        `backfill ${fmt(LARGE)} sqlite: time, peak RSS`,
        `${fmt(b.seconds, 1)} s, ${fmt(b.maxRssMb)} MB`,
        "",
        "",
      );
      const r = await task({ op: "reconcile", simUrl: big.url, dbUrl: db.url });
      const diff = r.maxRssMb - (reconcileRss.sqlite ?? 0);
      row(
        "5",
        `reconcile ${fmt(LARGE)} sqlite: peak RSS, time`,
        `${fmt(r.maxRssMb)} MB, ${fmt(r.seconds, 1)} s`,
        "",
        "",
      );
      row("5", `peak RSS ${fmt(LARGE)} - ${fmt(N)}`, `${fmt(diff)} MB`, "<= 50 MB", ok(diff <= 50));
      row("5", `simulator ${fmt(LARGE)}: its own peak RSS`, `${fmt(big.peakRssMb())} MB`, "", "");
      await big.stop();
    }

    // 1 again, with a per-request latency closer to a real API (the pipeline's home ground).
    if (section("latency")) {
      const slow = await startSim(LATENCY_N, LATENCY_MS);
      const sf: number[] = [];
      const sr: Record<string, number[]> = {};
      for (let rep = 0; rep < REPS; rep++) {
        const f = await task({ op: "fetch", simUrl: slow.url });
        sf.push(rate(f));
        for (const provider of DATABASES) {
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
        `fetch-only, ${LATENCY_MS} ms latency, ${fmt(LATENCY_N)}`,
        `${fmt(median(sf))} conv/s${spread(sf)}`,
        "",
        "",
      );
      for (const p of DATABASES) {
        const rs = sr[p] ?? [];
        row(
          "1",
          `backfill/fetch-only ${p}, ${LATENCY_MS} ms`,
          `${fmt(median(rs), 2)}${spread(rs, 2)}`,
          ">= 0.9",
          ok(median(rs) >= 0.9),
        );
      }
      await slow.stop();
    }
  } finally {
    for (const db of dbsToDrop) await db.drop().catch(() => {});
  }
  console.log("");
  printTable();
  console.log(`\n(total ${fmt((performance.now() - started) / 1000, 0)} s)`);
}

await main();
