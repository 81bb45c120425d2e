// Restore against the simulator over real HTTP, on SQLite and PostgreSQL: mirror app A, restore it
// into an empty app B, mirror B, and the two mirrors are equal modulo the documented fields; a
// rerun sends no import; unknown outcomes (applied, then reset or timed out) and a batch left
// `pending` (as kill -9 after sending leaves it) never duplicate nor lose a message; a target that
// already holds some of the messages gets only the missing ones (or none, --skip-existing).
import { afterEach, describe, expect, it } from "vitest";
import type { SyncSettings } from "../../src/config/index.ts";
import { createLogger } from "../../src/log.ts";
import { startSimulator } from "../../src/simulator/index.ts";
import type { Simulator, SimulatorOptions } from "../../src/simulator/types.ts";
import { contentHash } from "../../src/store/hash.ts";
import type { Store } from "../../src/store/store.ts";
import { runMirrorJob } from "../../src/sync/jobs.ts";
import { compareRestore } from "../../src/sync/restore/compare.ts";
import { importable, planRestore, runRestore } from "../../src/sync/restore/engine.ts";
import { importItem } from "../../src/sync/restore/payload.ts";
import type { RestoreOptions } from "../../src/sync/restore/types.ts";
import type { TalkJSClient } from "../../src/talkjs/client.ts";
import type { TalkJSClientOptions } from "../../src/talkjs/config.ts";
import type { Message } from "../../src/talkjs/types.ts";
import { PROVIDERS, useStore } from "../helpers/db.ts";
import { simClient } from "../helpers/sim-client.ts";

const SETTINGS: SyncSettings = {
  clockSkewMs: 5_000,
  maxDeleteShare: 0.1,
  mirrorMessages: true,
  mirrorUsers: true,
  messageConcurrency: 3,
  backfillConcurrency: 1,
};
const logger = createLogger({ level: "silent" });

interface Apps {
  sim: Simulator;
  source: string;
  target: string;
  sourceClient: TalkJSClient;
  targetClient: TalkJSClient;
  mirror(appId: string): Promise<void>;
  /** Mirrors the target and returns its differences from the source (the round trip's check). */
  roundTrip(): Promise<unknown[]>;
  options(extra?: Partial<RestoreOptions>): RestoreOptions;
}

let counter = 0;
const closing: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const close of closing.splice(0)) await close();
});

function clientFor(sim: Simulator, appId: string, extra: Partial<TalkJSClientOptions> = {}): TalkJSClient {
  const c = simClient(sim, appId, extra);
  closing.push(() => c.close());
  return c;
}

/** App A (generated, mirrored into `store`) and an empty app B on one simulator. */
async function twoApps(
  store: Store,
  opts: {
    sim?: Partial<SimulatorOptions>;
    target?: Partial<TalkJSClientOptions>;
    conversations?: number;
  } = {},
): Promise<Apps> {
  const source = `rs_${process.pid}_${++counter}`;
  const target = `${source}_b`;
  const sim = await startSimulator({
    conversations: opts.conversations ?? 20,
    seed: 5 + counter,
    apps: [source, target],
    ...opts.sim,
  });
  closing.push(() => sim.close());
  const sourceClient = clientFor(sim, source);
  const targetClient = clientFor(sim, target, opts.target);
  const apps: Apps = {
    sim,
    source,
    target,
    sourceClient,
    targetClient,
    async mirror(appId) {
      const client = appId === source ? sourceClient : clientFor(sim, appId);
      await runMirrorJob({ client, store, appId, logger }, "backfill", { settings: SETTINGS });
    },
    async roundTrip() {
      await apps.mirror(target);
      return compareRestore(
        { store, appId: source },
        { store, appId: target },
        { conversationIds: null, includeDeleted: false },
      );
    },
    options: (extra = {}) => ({
      sourceAppId: source,
      targetAppId: target,
      conversationIds: null,
      since: null,
      includeDeleted: false,
      skipExisting: false,
      importShape: sim.appIds.length > 0 ? "documented" : "script",
      batchSize: 10,
      targetRatePerSecond: 9,
      ...extra,
    }),
  };
  await apps.mirror(source);
  return apps;
}

const writes = (sim: Simulator) => sim.requestLog.filter((r) => r.method !== "GET");
const imports = (sim: Simulator) =>
  sim.requestLog.filter((r) => r.method === "POST" && r.path.includes("/import/"));

describe.each(PROVIDERS)("restore on %s", (provider) => {
  const fixture = useStore(provider);

  it("round trip: restore A into an empty B, mirror B, equal modulo the documented fields; a rerun imports nothing", async () => {
    const store = fixture.store;
    const a = await twoApps(store);
    const plan = await planRestore(store, a.options());
    expect(plan.conversations).toBe(20);
    expect(plan.messages).toBeGreaterThan(100);
    expect(plan.notRestorable.systemMessages).toBeGreaterThan(0);
    expect(writes(a.sim)).toEqual([]); // planning reads only the database

    const summary = await runRestore(store, a.targetClient, a.options());
    expect(summary.messagesImported).toBe(plan.messages);
    expect(summary.unknownOutcomes).toBe(0);
    const perRequest = imports(a.sim).length;
    expect(perRequest).toBe(plan.requests.imports);

    expect(await a.roundTrip()).toEqual([]);
    // every restored message came in through the import (origin) with a new id
    const restored =
      a.sim
        .appStore(a.target)
        ?.allConversations()
        .flatMap((c) => a.sim.appStore(a.target)?.messages(c.id) ?? []) ?? [];
    expect(restored.length).toBe(plan.messages);
    expect(restored.every((m) => m.origin === "import")).toBe(true);

    a.sim.clearRequestLog();
    const again = await runRestore(store, a.targetClient, a.options());
    expect(again.messagesImported).toBe(0);
    expect(imports(a.sim)).toEqual([]);
    const runs = await store.lastRuns(a.source, 10);
    expect(runs.filter((r) => r.kind === "restore").map((r) => r.status)).toEqual(["succeeded", "succeeded"]);
  });

  it("one restore per target at a time: a second one is refused while the first holds the lock", async () => {
    const store = fixture.store;
    const a = await twoApps(store);
    const held = await store.acquireRunLock(`restore→${a.target}`, {
      kind: "restore",
      pid: 1,
      host: "other",
    });
    expect(held).not.toBeNull();
    try {
      await expect(runRestore(store, a.targetClient, a.options())).rejects.toMatchObject({
        code: "RESTORE_LOCKED",
      });
      expect(imports(a.sim)).toEqual([]);
    } finally {
      await held?.release();
    }
    expect((await runRestore(store, a.targetClient, a.options())).messagesImported).toBeGreaterThan(0);
  });

  it("the script shape in batches of 100 restores the same", async () => {
    const store = fixture.store;
    const a = await twoApps(store, { sim: { importShape: "script" } });
    const summary = await runRestore(
      store,
      a.targetClient,
      a.options({ importShape: "script", batchSize: 100 }),
    );
    // one request per conversation that has user messages (none has more than 100)
    expect(summary.importRequests).toBe(summary.plan.requests.imports);
    expect(summary.importRequests).toBeLessThanOrEqual(20);
    expect(await a.roundTrip()).toEqual([]);
  });

  it("applied-then-reset and applied-then-timeout imports are read back, never duplicated", async () => {
    const store = fixture.store;
    const a = await twoApps(store, { target: { headersTimeoutMs: 200 } });
    const path = `/v1/${a.target}/import/`;
    a.sim.addFault({
      fault: { kind: "apply-then-reset" },
      match: { method: "POST", pathPrefix: path },
      nth: 3,
    });
    a.sim.addFault({
      fault: { kind: "apply-then-timeout", delayMs: 1_500 },
      match: { method: "POST", pathPrefix: path },
      nth: 7,
    });
    a.sim.addFault({
      fault: { kind: "apply-then-reset" },
      match: { method: "POST", pathPrefix: path },
      nth: 8,
    });
    const summary = await runRestore(store, a.targetClient, a.options());
    expect(summary.unknownOutcomes).toBe(3);
    expect(summary.messagesImported + summary.messagesMatched).toBe(summary.plan.messages);
    expect(await a.roundTrip()).toEqual([]);
  });

  it("a batch left pending after it was sent (kill -9) is matched on rerun, not sent again; a partial one gets only its rest", async () => {
    const store = fixture.store;
    const a = await twoApps(store);
    const busy: string[] = [];
    for (const c of await store.restore.conversations(a.source, {
      ids: null,
      since: null,
      includeDeleted: false,
    }))
      if ((await store.restore.messages(a.source, c.conversation.id, false)).filter(importable).length >= 10)
        busy.push(c.conversation.id);
    const [c1, c2] = busy;
    let handImported = 0;
    // What a restore killed right after sending leaves: pending rows, the batch applied in the target.
    for (const [cid, applied] of [
      [c1, 10],
      [c2, 4], // a batch applied only in part
    ] as const) {
      if (!cid) throw new Error("need two conversations");
      const conv = (
        await store.restore.conversations(a.source, { ids: [cid], since: null, includeDeleted: false })
      )[0];
      await a.targetClient.putConversation(cid, { participants: Object.keys(conv?.participants ?? {}) });
      const batch = (await store.restore.messages(a.source, cid, false)).filter(importable).slice(0, 10);
      const body = batch.map((m) => importItem(m, "documented"));
      await a.targetClient.importMessages(cid, body.slice(0, applied));
      handImported += Math.min(applied, body.length);
      await store.restore.write(
        batch.map((m) => ({
          targetAppId: a.target,
          sourceAppId: a.source,
          kind: "message" as const,
          sourceId: m.id,
          conversationId: cid,
          targetId: null,
          batch: 1,
          status: "pending" as const,
          fingerprint: contentHash(body),
        })),
      );
    }
    const summary = await runRestore(store, a.targetClient, a.options());
    expect(handImported).toBe(14);
    expect(summary.messagesMatched).toBe(handImported);
    expect(await a.roundTrip()).toEqual([]);
  });

  it("a target that already has some messages gets only the missing ones; --skip-existing leaves it alone", async () => {
    const store = fixture.store;
    const a = await twoApps(store);
    const ids = (
      await store.restore.conversations(a.source, { ids: null, since: null, includeDeleted: false })
    ).map((c) => c.conversation.id);
    const [first, second] = ids as [string, string];
    for (const cid of [first, second]) {
      await a.targetClient.putConversation(cid, {});
      const some = (await store.restore.messages(a.source, cid, false)).filter(importable).slice(0, 3);
      await a.targetClient.importMessages(
        cid,
        some.map((m) => importItem(m, "documented")),
      );
    }
    const skipped = await runRestore(
      store,
      a.targetClient,
      a.options({ conversationIds: [second], skipExisting: true }),
    );
    expect(skipped.conversationsSkipped).toBe(1);
    expect(skipped.messagesImported).toBe(0);
    expect(a.sim.appStore(a.target)?.messages(second)).toHaveLength(3);

    const filled = await runRestore(store, a.targetClient, a.options({ conversationIds: [first] }));
    expect(filled.messagesMatched).toBe(3);
    const expected = (await store.restore.messages(a.source, first, false)).filter(importable).length;
    expect(a.sim.appStore(a.target)?.messages(first)).toHaveLength(expected);
  });
});

// Its own block, after the others: the apps' seeds come from a shared counter, and the tests
// above were written against theirs.
describe.each(PROVIDERS)("restore read-back on %s", (provider) => {
  const fixture = useStore(provider);

  it("a server that clamps the messages page: the read-back goes on to the empty page, nothing is imported twice", async () => {
    const store = fixture.store;
    const a = await twoApps(store, { sim: { limitMode: "clamp", maxMessageLimit: 5 } });
    let cid: string | undefined;
    let source: Message[] = [];
    for (const c of await store.restore.conversations(a.source, {
      ids: null,
      since: null,
      includeDeleted: false,
    })) {
      source = (await store.restore.messages(a.source, c.conversation.id, false)).filter(importable);
      if (source.length >= 12) {
        cid = c.conversation.id;
        break;
      }
    }
    if (!cid) throw new Error("need a conversation with 12 user messages");
    // 8 of them already in the target: more than one clamped page of 5.
    await a.targetClient.putConversation(cid, {});
    await a.targetClient.importMessages(
      cid,
      source.slice(0, 8).map((m) => importItem(m, "documented")),
    );
    const summary = await runRestore(store, a.targetClient, a.options({ conversationIds: [cid] }));
    expect(summary.messagesMatched).toBe(8);
    expect(summary.messagesImported).toBe(source.length - 8);
    expect(a.sim.appStore(a.target)?.messages(cid)).toHaveLength(source.length);
  });
});
