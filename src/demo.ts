// `talkjs-mirror demo`: the main job on the embedded default. Starts the TalkJS simulator
// in-process, backs it up into a fresh SQLite file, makes the app live for a moment (new
// messages, new empty conversations, metadata edits, deletions), runs `sync` and `reconcile`,
// verifies the mirror against the simulator row by row (and a sample with `verify`) and prints the analytics report (the `report` command). It uses the
// production code paths throughout: real HTTP on loopback, real migrations, a real SQLite file.
import { createHash } from "node:crypto";
import { readFileSync, rmSync } from "node:fs";
import { parseArgs } from "node:util";
import type { Logger } from "pino";
import { renderTable } from "./analytics/render.ts";
import { buildReport } from "./analytics/report.ts";
import { verifyIntoScratch } from "./cli/restore-verify.ts";
import { formatVerifyBound } from "./cli/verify-format.ts";
import { defaultFilesDir } from "./config/files.ts";
import { type AppConfig, loadConfig } from "./config/index.ts";
import { ConfigError, MirrorError } from "./errors.ts";
import { openMirror } from "./mirror.ts";
import { startSimulator } from "./simulator/index.ts";
import type { Simulator } from "./simulator/types.ts";
import { parseDatabaseUrl } from "./store/database-url.ts";
import { contentHash } from "./store/hash.ts";
import { conversationHashes } from "./store/sql/conversations.ts";
import { messageFilesOf } from "./store/sql/files.ts";
import { liveMessageHashes } from "./store/sql/messages.ts";
import { userHashes } from "./store/sql/users.ts";
import type { Store } from "./store/store.ts";
import { BlobDir } from "./sync/file-blobs.ts";
import { type MirrorJobSummary, runMirrorJob } from "./sync/jobs.ts";
import { withRunLock } from "./sync/lock.ts";
import { runRestore } from "./sync/restore/engine.ts";
import type { RestoreOptions } from "./sync/restore/types.ts";
import type { RunSummary } from "./sync/run.ts";
import { runUsersReconcile } from "./sync/users.ts";
import { runVerify } from "./sync/verify.ts";
import { createTalkJSClient, withoutPushTokens } from "./talkjs/client.ts";
import { bytes, count, duration, perSecond } from "./units.ts";

export const DEMO_USAGE = `Usage: talkjs-mirror demo [--conversations 3000] [--seed 42] [--database file:./talkjs-mirror-demo.db]

Starts a simulated TalkJS app, backs it up into a SQLite file (recreated each run), changes the
app (new messages, new conversations, edits, deletions), runs sync and reconcile, verifies the
mirror against the simulator row by row and prints the analytics report (what the report command prints).`;

export async function runDemo(args: string[], out: (line: string) => void = console.log): Promise<void> {
  const { values } = parseArgs({
    args,
    strict: true,
    options: {
      conversations: { type: "string", default: "3000" },
      seed: { type: "string", default: "42" },
      database: { type: "string", default: "file:./talkjs-mirror-demo.db" },
      help: { type: "boolean" },
    },
  });
  if (values.help) {
    out(DEMO_USAGE);
    return;
  }
  const conversations = positiveInteger("--conversations", values.conversations);
  const seed = positiveInteger("--seed", values.seed);
  const database = parseDatabaseUrl(values.database);
  if (database.provider !== "sqlite" || !database.filePath) {
    throw new ConfigError("--database", "the demo writes a SQLite file; use file:PATH.");
  }
  for (const suffix of ["", "-wal", "-shm", "-journal"])
    rmSync(`${database.filePath}${suffix}`, { force: true });
  const filesDir = defaultFilesDir(database) as string;
  rmSync(filesDir, { recursive: true, force: true });

  const started = Date.now();
  // A second, empty app: the restore round trip's target (demoRestore below).
  const simulator = await startSimulator({ conversations, seed, apps: ["demo", DEMO_TARGET_APP] });
  out(`Simulated TalkJS app "${simulator.appId}" with ${conversations} conversations at ${simulator.url}`);
  const config = loadConfig(
    {
      TALKJS_APP_ID: simulator.appId,
      TALKJS_SECRET_KEY: simulator.secretKey,
      TALKJS_API_URL: simulator.url,
      // The simulator on loopback takes more than TalkJS's ~9 requests/s.
      TALKJS_RATE_LIMIT_PER_SECOND: "5000",
      TALKJS_RATE_LIMIT_BURST: "500",
      DATABASE_URL: values.database,
      LOG_LEVEL: "warn",
      // The simulator serves the files on loopback, which a real mirror refuses (SSRF guard).
      FILES_ALLOW_PRIVATE_HOSTS: "true",
    },
    { requireTalkJS: true },
  );
  const mirror = await openMirror(config, { logDestination: 2 });
  const { ctx, store } = mirror;
  const report = (label: string, summary: MirrorJobSummary, extra = ""): void => {
    out(`${label}  ${line(summary)}${extra}`);
    if (summary.messages) out(`  messages   ${line(summary.messages, "messages")}`);
  };
  try {
    // The same jobs, with the same settings, that the CLI and the worker run (users aside: the
    // demo mirrors them in one pass at the end, so the runs above keep their numbers).
    const job = (kind: "backfill" | "sync" | "reconcile") =>
      runMirrorJob(ctx, kind, { settings: { ...config.sync, mirrorUsers: false } });
    const backfill = await job("backfill");
    report("backfill ", backfill);

    const changes = makeAppLive(simulator, seed);
    out(
      `TalkJS app changed: ${changes.messaged} conversations got new messages, ${changes.created} were created ` +
        `(${changes.empty} without messages), ${changes.edited} edited, ${changes.deleted} deleted.`,
    );

    report("sync     ", await job("sync"));
    const reconcile = await job("reconcile");
    report("reconcile", reconcile, `, ${reconcile.markedDeleted} marked deleted`);
    // Every user of the app, in one full listing (the same pass reconcile runs with MIRROR_USERS).
    const users = await withRunLock(ctx, "users", () =>
      runUsersReconcile(ctx, { maxDeleteShare: config.sync.maxDeleteShare, allowMassDelete: false }),
    );
    out(`users      ${line(users, "users")}`);

    const differences = [
      ...(await verifyMirror(store, simulator)),
      ...(await verifyMessages(store, simulator)),
      ...(await verifyUsers(store, simulator)),
    ];
    const stats = await store.stats(simulator.appId);
    const messages = await store.messages.stats(simulator.appId);
    if (differences.length > 0) {
      throw new MirrorError(
        "DEMO_VERIFY_FAILED",
        `mirror differs from the simulator in ${differences.length} places, e.g. ${differences.slice(0, 3).join("; ")}`,
      );
    }
    out(
      `Mirror verified: ${count(stats.live)} live, ${count(stats.deleted)} deleted, ${count(messages.live)} messages, 0 differences`,
    );
    const files = await verifyFiles(store, simulator, filesDir);
    if (files.differences.length > 0) {
      throw new MirrorError(
        "DEMO_VERIFY_FAILED",
        `archived files differ from the simulator's in ${files.differences.length} places, e.g. ${files.differences.slice(0, 3).join("; ")}`,
      );
    }
    out(
      `Files verified: ${count(files.stored)} attachments archived as ${count(files.blobs)} files (${bytes(files.bytes)}) in ${filesDir}, each checked by its sha256`,
    );
    // What `talkjs-mirror verify` does for a backup's owner: a sample checked against TalkJS itself.
    const sampled = await runVerify(mirror.client, store, simulator.appId, {
      sample: 500,
      messages: true,
      seed,
    });
    out(
      `verify     ${count(sampled.checked)} of ${count(sampled.population)} conversations sampled against TalkJS: ` +
        `${count(sampled.matching)} matching, ${count(sampled.newer)} newer, ${count(sampled.differing)} differing, ` +
        `${count(sampled.stillDeleted)} still deleted; ${formatVerifyBound(sampled)}`,
    );
    if (sampled.differing > 0) {
      throw new MirrorError(
        "DEMO_VERIFY_FAILED",
        `verify found ${sampled.differing} differing conversation(s), e.g. ${sampled.differences[0]?.id}`,
      );
    }
    await demoRestore(store, simulator.appId, config, mirror.logger, out);
    // The same report `talkjs-mirror report` prints, from the same views.
    out("");
    out(renderTable(await buildReport(store, simulator.appId, { byCustomField: "category" })));
    out("");
    out(`Mirror written to ${database.filePath} in ${duration(Date.now() - started, "exact")}.`);
    out(
      `Query it:  sqlite3 ${database.filePath} "SELECT day, created, active FROM v_daily_activity ORDER BY day DESC LIMIT 7"  (more in docs/analytics.md)`,
    );
  } finally {
    await mirror.close();
    await simulator.close();
  }
}

function line(s: RunSummary, noun = "conversations"): string {
  const rate = perSecond(s.fetched, s.durationMs);
  return (
    `${s.fetched} ${noun} in ${s.pages} pages: ${s.inserted} new, ${s.updated} updated, ` +
    `${s.unchanged} unchanged (${duration(s.durationMs, "exact")}, ${rate}/s)`
  );
}

/** What happens to a chat app in a few seconds of real life, chosen by a seeded walk. */
function makeAppLive(
  simulator: Simulator,
  seed: number,
): { messaged: number; created: number; empty: number; edited: number; deleted: number } {
  const all = simulator.allConversations().sort((a, b) => (a.id < b.id ? -1 : 1));
  let state = seed >>> 0;
  const pick = (): string => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return all[state % all.length]?.id as string;
  };
  const touched = new Set<string>();
  const fresh = (): string => {
    for (;;) {
      const id = pick();
      if (!touched.has(id)) {
        touched.add(id);
        return id;
      }
    }
  };
  const size = Math.max(1, Math.round(all.length / 100));
  const counts = { messaged: 0, created: 0, empty: 0, edited: 0, deleted: 0 };
  for (let i = 0; i < size * 3; i++) {
    const id = fresh();
    const sender = Object.keys(simulator.conversation(id)?.participants ?? {})[0] ?? null;
    simulator.addMessage(id, { senderId: sender, text: `New message ${i} — ça va? 👋` });
    counts.messaged++;
  }
  for (let i = 0; i < size * 2; i++) {
    const id = `demo-new-${i}`;
    simulator.createConversation({
      id,
      subject: `Nouvelle conversation ${i} 🚀`,
      participants: [`user_demo_${i}`, "user_00001"],
    });
    counts.created++;
    if (i % 2 === 0) simulator.addMessage(id, { senderId: `user_demo_${i}`, text: "Hello!" });
    else counts.empty++;
  }
  for (let i = 0; i < size * 2; i++) {
    simulator.updateConversation(fresh(), { subject: `Edited subject ${i} ✎`, custom: { status: "edited" } });
    counts.edited++;
  }
  for (let i = 0; i < Math.max(1, Math.round(size / 2)); i++) {
    simulator.deleteConversation(fresh());
    counts.deleted++;
  }
  return counts;
}

/**
 * Every simulator conversation must be live in the mirror with identical content (the hash of the
 * raw API object), every conversation deleted at the simulator that was mirrored must be marked
 * deleted, and nothing else may be live.
 */
async function verifyMirror(store: Store, simulator: Simulator): Promise<string[]> {
  const rows = await store.queryRaw(conversationHashes(simulator.appId));
  const live = new Map<string, string>();
  const deleted = new Set<string>();
  for (const row of rows) {
    if (row.deleted_at === null) live.set(String(row.id), String(row.content_hash));
    else deleted.add(String(row.id));
  }
  const differences: string[] = [];
  for (const conversation of simulator.allConversations()) {
    const hash = live.get(conversation.id);
    if (hash === undefined) differences.push(`${conversation.id}: missing`);
    else if (hash !== contentHash(conversation)) differences.push(`${conversation.id}: content differs`);
    live.delete(conversation.id);
  }
  for (const id of live.keys()) differences.push(`${id}: live in the mirror but deleted at TalkJS`);
  for (const id of deleted) {
    if (simulator.conversation(id)) differences.push(`${id}: marked deleted but exists at TalkJS`);
  }
  return differences;
}

/** Every simulator user must be live in the mirror with identical content (push tokens aside), and no other. */
async function verifyUsers(store: Store, simulator: Simulator): Promise<string[]> {
  const rows = await store.queryRaw(userHashes(simulator.appId));
  const live = new Map(
    rows.filter((r) => r.deleted_at === null).map((r) => [String(r.id), String(r.content_hash)]),
  );
  const differences: string[] = [];
  for (const user of simulator.allUsers()) {
    const hash = live.get(user.id);
    if (hash === undefined) differences.push(`user ${user.id}: missing`);
    else if (hash !== contentHash(withoutPushTokens(user)))
      differences.push(`user ${user.id}: content differs`);
    live.delete(user.id);
  }
  for (const id of live.keys()) differences.push(`user ${id}: live in the mirror but gone at TalkJS`);
  return differences;
}

function positiveInteger(flag: string, raw: string): number {
  if (!/^\d+$/.test(raw) || Number(raw) < 1)
    throw new ConfigError(flag, `"${raw}" is not a positive whole number.`);
  return Number(raw);
}

/** Every message of every live simulator conversation must be mirrored, live, with identical content. */
async function verifyMessages(store: Store, simulator: Simulator): Promise<string[]> {
  const rows = await store.queryRaw(liveMessageHashes(simulator.appId));
  const mirrored = new Map(rows.map((r) => [String(r.id), String(r.content_hash)]));
  const differences: string[] = [];
  for (const conversation of simulator.allConversations()) {
    for (const message of simulator.messages(conversation.id)) {
      const hash = mirrored.get(message.id);
      if (hash === undefined) differences.push(`message ${message.id}: missing`);
      else if (hash !== contentHash(message)) differences.push(`message ${message.id}: content differs`);
    }
  }
  return differences;
}

/**
 * Every file a mirrored message points to must be stored, and its archived copy must have the
 * sha256 of the bytes the simulator serves (checked on the file on disk, not only in the table).
 */
async function verifyFiles(
  store: Store,
  simulator: Simulator,
  dir: string,
): Promise<{ stored: number; blobs: number; bytes: number; differences: string[] }> {
  const blobs = new BlobDir(dir);
  const sha256 = (b: Buffer) => createHash("sha256").update(b).digest("hex");
  const differences: string[] = [];
  const seen = new Map<string, number>();
  let stored = 0;
  for (const row of await store.queryRaw(messageFilesOf(simulator.appId))) {
    const label = `file of message ${String(row.message_id)}`;
    const expected = simulator.fileBytes(String(row.url));
    if (row.status !== "stored" || row.sha256 === null) {
      differences.push(`${label}: ${String(row.status)} (${String(row.last_error)})`);
      continue;
    }
    const hash = String(row.sha256);
    if (!expected || sha256(expected) !== hash) differences.push(`${label}: not the simulator's bytes`);
    else if (!seen.has(hash)) {
      const onDisk = readFileSync(blobs.pathOf(hash));
      if (sha256(onDisk) !== hash) differences.push(`${label}: archived copy is damaged`);
      seen.set(hash, onDisk.length);
    }
    stored++;
  }
  const total = [...seen.values()].reduce((a, b) => a + b, 0);
  return { stored, blobs: seen.size, bytes: total, differences };
}

/** The mirrored app's empty twin on the demo's simulator: the restore round trip's target. */
const DEMO_TARGET_APP = "demo-copy";

/**
 * The restore round trip (`restore --yes --verify`): the demo app's mirror put back into the empty
 * app demo-copy, which is then mirrored into a scratch database and compared with the mirror
 * modulo what cannot survive a restore.
 */
async function demoRestore(
  store: Store,
  sourceAppId: string,
  config: AppConfig,
  logger: Logger,
  out: (line: string) => void,
): Promise<void> {
  const talkjs = config.talkjs as NonNullable<AppConfig["talkjs"]>;
  const started = Date.now();
  const target = createTalkJSClient({
    ...talkjs,
    appId: DEMO_TARGET_APP,
    secretKey: `sk_test_${DEMO_TARGET_APP}`,
    logger,
  });
  try {
    const options: RestoreOptions = {
      sourceAppId,
      targetAppId: DEMO_TARGET_APP,
      conversationIds: null,
      since: null,
      includeDeleted: false,
      skipExisting: false,
      importShape: "documented",
      batchSize: 10,
      targetRatePerSecond: talkjs.rateLimit?.perSecond ?? 8,
      filesDir: config.sync.files?.dir ?? null,
    };
    const summary = await runRestore(store, target, options);
    const restoredMs = Date.now() - started;
    const differences = await verifyIntoScratch(store, target, options, config.sync, logger);
    out(
      `restore    restored ${count(summary.conversationsPut)} conversations and ${count(summary.messagesImported)} user messages ` +
        `into app ${DEMO_TARGET_APP} in ${count(summary.importRequests)} imports, with ${count(summary.filesUploaded)} files re-uploaded (${count(summary.filesNotArchived)} not archived) (${duration(restoredMs, "exact")}); ` +
        `round trip: ${differences.length} differences beyond the documented list; ` +
        `${count(summary.plan.notRestorable.systemMessages)} system messages not restorable`,
    );
    if (differences.length > 0)
      throw new MirrorError(
        "DEMO_VERIFY_FAILED",
        `the restored app differs from the mirror in ${differences.length} places, e.g. ${differences.slice(0, 3).join("; ")}`,
      );
  } finally {
    await target.close();
  }
}
