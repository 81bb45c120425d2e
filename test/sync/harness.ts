// Shared set-up for the sync engine tests: a simulator, a TalkJS client tuned for loopback, a
// store on a real database, and a silent logger — wired exactly like production (SyncContext).
import { Writable } from "node:stream";
import { afterEach, expect } from "vitest";
import { createLogger } from "../../src/log.ts";
import { startSimulator } from "../../src/simulator/index.ts";
import type { OffsetTsMode, Simulator, SimulatorOptions } from "../../src/simulator/types.ts";
import { contentHash } from "../../src/store/hash.ts";
import { conversationHashes } from "../../src/store/sql/conversations.ts";
import { sql } from "../../src/store/sql/shared.ts";
import type { Store } from "../../src/store/store.ts";
import type { SyncContext } from "../../src/sync/run.ts";
import { createTalkJSClient, type TalkJSClient } from "../../src/talkjs/client.ts";
import type { TalkJSClientOptions } from "../../src/talkjs/config.ts";
import type { StoreFixture } from "../helpers/db.ts";

export const SKEW_MS = 5_000;

export interface Harness {
  sim: Simulator;
  client: TalkJSClient;
  ctx: SyncContext;
  appId: string;
  logLines: string[];
  close(): Promise<void>;
}

let counter = 0;

/**
 * A simulator app with `conversations` generated ones plus a burst of `burst` conversations
 * sharing one createdAt (a tie group bigger than a page), mirrored into `store` under its own app id.
 */
export async function harness(
  store: Store,
  mode: OffsetTsMode,
  options: {
    conversations?: number;
    burst?: number;
    seed?: number;
    sim?: Partial<SimulatorOptions>;
    client?: Partial<TalkJSClientOptions>;
  } = {},
): Promise<Harness> {
  const appId = `app_${mode}_${process.pid}_${++counter}`;
  const seed = options.seed ?? 11 + counter;
  const sim = await startSimulator({
    conversations: options.conversations ?? 300,
    seed,
    appId,
    offsetTsMode: mode,
    ...options.sim,
  });
  const t = sim.allConversations()[0]?.createdAt ?? Date.now() - 86_400_000;
  for (let i = 0; i < (options.burst ?? 70); i++) {
    sim.createConversation({ id: `burst/${i} ü?`, createdAt: t, participants: [`u${i % 5}`] });
  }
  const logLines: string[] = [];
  const logger = createLogger({
    level: "debug",
    secrets: [sim.secretKey],
    destination: new Writable({
      write(chunk, _enc, cb) {
        logLines.push(String(chunk));
        cb();
      },
    }),
  });
  const client = createTalkJSClient({
    appId,
    secretKey: sim.secretKey,
    baseUrl: sim.url,
    rateLimit: { perSecond: 10_000, burst: 10_000 },
    retry: { minDelayMs: 1, maxDelayMs: 20, maxAttempts: 5 },
    logger,
    ...options.client,
  });
  return {
    sim,
    client,
    appId,
    logLines,
    ctx: { client, store, appId, logger },
    async close() {
      await client.close();
      await sim.close();
    },
  };
}

export interface MirrorRow {
  id: string;
  hash: string;
  deleted: boolean;
}

export async function mirrorRows(store: Store, appId: string): Promise<Map<string, MirrorRow>> {
  const rows = await store.queryRaw(conversationHashes(appId));
  return new Map(
    rows.map((r) => [
      String(r.id),
      { id: String(r.id), hash: String(r.content_hash), deleted: r.deleted_at !== null },
    ]),
  );
}

/**
 * Asserts the mirror equals the simulator: every live conversation present and live with the
 * same content hash (the hash of the raw API object). `extraLive` lists ids allowed to be live in
 * the mirror although deleted at the simulator (deletions only a reconcile can see).
 */
export async function expectMirrorEquals(
  h: Pick<Harness, "sim" | "appId">,
  store: Store,
  options: { deletedMustBeMarked: boolean },
): Promise<void> {
  const rows = await mirrorRows(store, h.appId);
  const problems: string[] = [];
  const live = h.sim.allConversations();
  for (const c of live) {
    const row = rows.get(c.id);
    if (!row) problems.push(`${c.id}: missing`);
    else if (row.deleted) problems.push(`${c.id}: marked deleted but live`);
    else if (row.hash !== contentHash(c)) problems.push(`${c.id}: content differs`);
  }
  const liveIds = new Set(live.map((c) => c.id));
  for (const row of rows.values()) {
    if (liveIds.has(row.id)) continue;
    if (!h.sim.deletedIds().includes(row.id)) problems.push(`${row.id}: never existed at TalkJS`);
    else if (options.deletedMustBeMarked && !row.deleted) problems.push(`${row.id}: deleted but live`);
  }
  expect(problems.slice(0, 10)).toEqual([]);
}

export function listingRequests(sim: Simulator): number {
  return sim.requestLog.filter((r) => r.method === "GET" && /\/conversations$/.test(r.path)).length;
}

/** For a describe block: `setup` opens a harness on the fixture's store, closed after each test. */
export function useHarnesses(
  fixture: Pick<StoreFixture, "store">,
): (mode: OffsetTsMode, options?: Parameters<typeof harness>[2]) => Promise<Harness> {
  const open: Harness[] = [];
  afterEach(async () => {
    await Promise.all(open.splice(0).map((h) => h.close()));
  });
  return async (mode, options = {}) => {
    const h = await harness(fixture.store, mode, options);
    open.push(h);
    return h;
  };
}

/**
 * Every message of every live simulator conversation is mirrored, live, with identical content,
 * and (unless `keptRowsAllowed`: the mirror keeps the messages of deleted conversations) nothing else.
 */
export async function expectMessagesEqual(
  h: Pick<Harness, "sim" | "appId">,
  store: Store,
  options: { keptRowsAllowed?: boolean } = {},
): Promise<number> {
  const rows = await store.queryRaw(
    sql`SELECT id, content_hash, deleted_at FROM messages WHERE app_id = ${h.appId}`,
  );
  const mirrored = new Map(rows.map((r) => [String(r.id), r]));
  const problems: string[] = [];
  let count = 0;
  for (const c of h.sim.allConversations()) {
    for (const m of h.sim.messages(c.id)) {
      count++;
      const row = mirrored.get(m.id);
      if (!row) problems.push(`${m.id}: missing`);
      else if (row.deleted_at !== null) problems.push(`${m.id}: marked deleted`);
      else if (row.content_hash !== contentHash(m)) problems.push(`${m.id}: content differs`);
    }
  }
  expect(problems.slice(0, 10)).toEqual([]);
  if (options.keptRowsAllowed !== true) expect(rows.length).toBe(count);
  return count;
}
