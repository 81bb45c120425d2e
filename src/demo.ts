// `talkjs-mirror demo`: the main job on the embedded default. Starts the TalkJS simulator
// in-process, mirrors it into a fresh SQLite file over real HTTP with the production code paths
// (client, pager, migrations, store), verifies the copy row by row and prints a short report.
import { rmSync } from "node:fs";
import { parseArgs } from "node:util";
import { ConfigError } from "./errors.ts";
import { createLogger } from "./log.ts";
import { startSimulator } from "./simulator/index.ts";
import { parseDatabaseUrl } from "./store/database-url.ts";
import { contentHash } from "./store/hash.ts";
import { migrateDatabase } from "./store/migrate.ts";
import { openStore, type Store } from "./store/store.ts";
import { runBackfill } from "./sync/backfill.ts";
import { createTalkJSClient } from "./talkjs/client.ts";

export const DEMO_USAGE = `Usage: talkjs-mirror demo [--conversations 3000] [--seed 42] [--database file:./talkjs-mirror-demo.db]

Starts a simulated TalkJS app, mirrors it into a SQLite file (recreated each run), verifies the
mirror against the simulator row by row and prints a short report.`;

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

  const started = Date.now();
  const simulator = await startSimulator({ conversations, seed });
  const logger = createLogger({ level: "warn", secrets: [simulator.secretKey] });
  out(`Simulated TalkJS app "${simulator.appId}" with ${conversations} conversations at ${simulator.url}`);
  let store: Store | undefined;
  const client = createTalkJSClient({
    appId: simulator.appId,
    secretKey: simulator.secretKey,
    baseUrl: simulator.url,
    logger,
    // The simulator on loopback can take more than TalkJS's ~9 requests/s.
    rateLimit: { perSecond: 200, burst: 50 },
  });
  try {
    await migrateDatabase(database);
    store = await openStore(database);
    const summary = await runBackfill({ client, store, appId: simulator.appId, logger });
    out(
      `Backfill: ${summary.fetched} conversations in ${summary.pages} pages, ` +
        `${(summary.durationMs / 1000).toFixed(1)} s (${Math.round(summary.fetched / (summary.durationMs / 1000))} conversations/s)`,
    );
    const differences = await verifyMirror(store, simulator.appId, simulator.allConversations());
    const stats = await store.stats(simulator.appId);
    if (differences.length > 0) {
      throw new Error(
        `mirror differs from the simulator in ${differences.length} conversations, e.g. ${differences[0]}`,
      );
    }
    out(`Mirror verified: ${stats.live} live, ${stats.deleted} deleted, 0 differences`);
    await printReport(store, simulator.appId, out);
    out(`Mirror written to ${database.filePath} in ${((Date.now() - started) / 1000).toFixed(1)} s.`);
  } finally {
    await store?.close();
    await client.close();
    await simulator.close();
  }
}

/** Every simulator conversation must be in the mirror with identical content, and nothing else live. */
async function verifyMirror(
  store: Store,
  appId: string,
  expected: readonly { id: string }[],
): Promise<string[]> {
  const rows = await store.queryRaw(
    `SELECT id, content_hash FROM conversations WHERE app_id = '${appId.replaceAll("'", "''")}' AND deleted_at IS NULL`,
  );
  const mirrored = new Map(rows.map((row) => [String(row.id), String(row.content_hash)]));
  const differences: string[] = [];
  for (const conversation of expected) {
    const hash = mirrored.get(conversation.id);
    if (hash === undefined) differences.push(`${conversation.id}: missing`);
    else if (hash !== contentHash(conversation)) differences.push(`${conversation.id}: content differs`);
    mirrored.delete(conversation.id);
  }
  for (const id of mirrored.keys()) differences.push(`${id}: in the mirror but not at TalkJS`);
  return differences;
}

async function printReport(store: Store, appId: string, out: (line: string) => void): Promise<void> {
  const app = `'${appId.replaceAll("'", "''")}'`;
  const [totals] = await store.queryRaw(
    `SELECT COUNT(*) AS conversations,
            SUM(CASE WHEN last_message_id IS NULL THEN 1 ELSE 0 END) AS without_messages,
            SUM(participant_count) AS participations
       FROM conversations WHERE app_id = ${app} AND deleted_at IS NULL`,
  );
  const topUsers = await store.queryRaw(
    `SELECT p.user_id, COUNT(*) AS conversations
       FROM conversation_participants p
       JOIN conversations c ON c.app_id = p.app_id AND c.id = p.conversation_id
      WHERE p.app_id = ${app} AND c.deleted_at IS NULL
      GROUP BY p.user_id ORDER BY conversations DESC, p.user_id LIMIT 5`,
  );
  out("");
  out("Report");
  out(`  conversations:          ${Number(totals?.conversations ?? 0)}`);
  out(`  without any message:    ${Number(totals?.without_messages ?? 0)}`);
  out(`  participations:         ${Number(totals?.participations ?? 0)}`);
  out("  most active participants:");
  for (const row of topUsers)
    out(`    ${String(row.user_id).padEnd(14)} ${Number(row.conversations)} conversations`);
  out("");
}

function positiveInteger(flag: string, raw: string): number {
  if (!/^\d+$/.test(raw) || Number(raw) < 1)
    throw new ConfigError(flag, `"${raw}" is not a positive whole number.`);
  return Number(raw);
}
