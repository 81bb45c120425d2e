// `talkjs-mirror restore` as a real process, on SQLite and PostgreSQL: a dry run (the default)
// sends nothing to TalkJS (the simulator's request log); a restore killed with kill -9 at about
// 25%, 50% and 75% and run again leaves the target with every message exactly once; restoring
// into the mirrored app needs --into-source, and with it brings back exactly the conversations
// deleted at TalkJS, importing nothing into the live ones.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createLogger } from "../../src/log.ts";
import { startSimulator } from "../../src/simulator/index.ts";
import type { Simulator } from "../../src/simulator/types.ts";
import { sql } from "../../src/store/sql/shared.ts";
import { openStore, type Store } from "../../src/store/store.ts";
import { runMirrorJob } from "../../src/sync/jobs.ts";
import { compareRestore } from "../../src/sync/restore/compare.ts";
import { importable } from "../../src/sync/restore/engine.ts";
import { createTalkJSClient } from "../../src/talkjs/client.ts";
import { freshDatabase, PROVIDERS, postgresAvailable, type TestDatabase } from "../helpers/db.ts";
import { runCli, spawnCli } from "./run-cli.ts";

const SETTINGS = {
  clockSkewMs: 5_000,
  maxDeleteShare: 0.5,
  mirrorMessages: true,
  mirrorUsers: true,
  messageConcurrency: 3,
  backfillConcurrency: 1,
};
const logger = createLogger({ level: "silent" });

async function until(
  what: string,
  check: () => boolean | Promise<boolean>,
  timeoutMs = 60_000,
): Promise<void> {
  const start = Date.now();
  while (!(await check())) {
    if (Date.now() - start > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

describe.each(PROVIDERS)("restore command on %s", (provider) => {
  const skip = provider === "postgresql" && !postgresAvailable();
  let db: TestDatabase;
  let sim: Simulator;
  let store: Store;
  let env: Record<string, string>;
  const source = `rsc_${provider}`;
  const target = `${source}_b`;

  /** Mirrors `appId` of the simulator into the test database (in-process, like the harness). */
  async function mirror(appId: string, kind: "backfill" | "reconcile" = "backfill"): Promise<void> {
    const client = createTalkJSClient({
      appId,
      secretKey: `sk_test_${appId}`,
      baseUrl: sim.url,
      rateLimit: { perSecond: 10_000, burst: 10_000 },
      logger,
    });
    try {
      await runMirrorJob({ client, store, appId, logger }, kind, {
        settings: SETTINGS,
        allowMassDelete: true,
      });
    } finally {
      await client.close();
    }
  }

  beforeAll(async () => {
    if (skip) return;
    db = await freshDatabase(provider);
    store = await openStore({ url: db.url });
    sim = await startSimulator({ conversations: 40, seed: 21, apps: [source, target] });
    await mirror(source);
    env = {
      TALKJS_APP_ID: source,
      TALKJS_SECRET_KEY: sim.secretKey,
      TALKJS_API_URL: sim.url,
      TALKJS_RATE_LIMIT_PER_SECOND: "1000",
      TALKJS_RATE_LIMIT_BURST: "1000",
      RESTORE_TALKJS_SECRET_KEY: `sk_test_${target}`,
      DATABASE_URL: db.url,
      LOG_LEVEL: "warn",
    };
  });
  afterAll(async () => {
    if (skip) return;
    await store?.close();
    await sim?.close();
    await db?.drop();
  });

  const writes = () => sim.requestLog.filter((r) => r.method !== "GET");
  const targetMessages = () =>
    (sim.appStore(target)?.allConversations() ?? []).reduce(
      (n, c) => n + (sim.appStore(target)?.messages(c.id)?.length ?? 0),
      0,
    );

  it.skipIf(skip)("a dry run (the default without --yes) sends nothing and prints the plan", async () => {
    sim.clearRequestLog();
    const r = await runCli(["restore", "--to-app", target], env);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/dry run: nothing sent/);
    expect(r.stdout).toMatch(/system message\(s\) \(the import refuses them\)/);
    expect(sim.requestLog).toEqual([]);
    const json = await runCli(["restore", "--to-app", target, "--yes", "--dry-run", "--json"], env);
    expect(JSON.parse(json.stdout)).toMatchObject({ conversations: 40, targetAppId: target });
    expect(sim.requestLog).toEqual([]);
    // the target key never appears
    expect(r.stdout + r.stderr + json.stdout + json.stderr).not.toContain(`sk_test_${target}`);
  });

  it.skipIf(skip)(
    "a wrong target key: exit 1 naming RESTORE_TALKJS_SECRET_KEY, the key never printed",
    async () => {
      const r = await runCli(["restore", "--to-app", target, "--yes"], {
        ...env,
        RESTORE_TALKJS_SECRET_KEY: "sk_test_wrong_key_123",
      });
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/RESTORE_TARGET_UNAUTHORIZED.*RESTORE_TALKJS_SECRET_KEY/);
      expect(r.stdout + r.stderr).not.toContain("sk_test_wrong_key_123");
    },
  );

  it.skipIf(skip)("--since that is not a date is refused by name (exit 2), nothing sent", async () => {
    sim.clearRequestLog();
    const r = await runCli(["restore", "--to-app", target, "--since", "soon", "--yes"], env);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--since: "soon" is not a date/);
    expect(sim.requestLog).toEqual([]);
  });

  it.skipIf(skip)("--to-app naming the mirrored app itself needs --into-source", async () => {
    const r = await runCli(["restore", "--to-app", source, "--yes"], env);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--into-source/);
  });

  it.skipIf(skip)(
    "killed with kill -9 at ~25%, ~50% and ~75%, then run again: every message exactly once",
    async () => {
      let total = 0;
      for (const c of await store.restore.conversations(source, {
        ids: null,
        since: null,
        includeDeleted: false,
      }))
        total += (await store.restore.messages(source, c.conversation.id, false)).filter(importable).length;
      expect(total).toBeGreaterThan(300);
      sim.setOptions({ latencyMs: 8 });
      for (const share of [0.25, 0.5, 0.75]) {
        const child = spawnCli(["restore", "--to-app", target, "--yes", "--quiet"], env);
        child.stdout?.resume();
        child.stderr?.resume();
        const closed = new Promise((r) => child.on("close", r));
        await until(`${share * 100}% imported`, () => targetMessages() >= total * share);
        child.kill("SIGKILL");
        await closed;
      }
      sim.setOptions({ latencyMs: 0 });
      const pending = await store.restore.counts(target, source);
      expect((pending["message:applied"] ?? 0) + (pending["message:pending"] ?? 0)).toBeGreaterThan(0);
      const r = await runCli(["restore", "--to-app", target, "--yes", "--json"], env);
      expect(r.code, r.stderr).toBe(0);
      expect(targetMessages()).toBe(total);
      // status shows the last restore from sync_runs; each killed run was closed as abandoned by
      // the next restore into the same target (it held that target's lock: the killed one was dead)
      const status = await runCli(["status"], env);
      expect(status.stdout).toMatch(
        new RegExp(
          `^ {2}restore {4}#\\d+ succeeded .* into ${target} {2}user messages ${total}, imported \\d+, already there \\d+`,
          "m",
        ),
      );
      const runs = await store.queryRaw(
        sql`SELECT status FROM sync_runs WHERE app_id = ${source} AND kind = ${"restore"} AND target_app_id = ${target} ORDER BY id`,
      );
      expect(runs.slice(-4).map((r) => r.status)).toEqual([
        "abandoned",
        "abandoned",
        "abandoned",
        "succeeded",
      ]);
      const counts = await store.restore.counts(target, source);
      expect(counts["message:applied"]).toBe(total);
      expect(counts["message:pending"]).toBeUndefined();
      await mirror(target);
      expect(
        await compareRestore(
          { store, appId: source },
          { store, appId: target },
          { conversationIds: null, includeDeleted: false },
        ),
      ).toEqual([]);
      // --verify: the target mirrored into a scratch database equals the mirror; one message lost → exit 1
      const verified = await runCli(["restore", "--to-app", target, "--yes", "--verify"], env);
      expect(verified.code, verified.stderr).toBe(0);
      expect(verified.stdout).toMatch(/^round trip: 0 difference\(s\) beyond the documented list$/m);
      const lossy = sim
        .appStore(target)
        ?.allConversations()
        .find((c) => c.lastMessage !== null);
      if (!lossy?.lastMessage) throw new Error("no conversation with messages");
      sim.appStore(target)?.deleteMessage(lossy.id, lossy.lastMessage.id);
      sim.clearRequestLog();
      const broken = await runCli(["restore", "--to-app", target, "--dry-run", "--verify"], env);
      expect(broken.code).toBe(1);
      expect(broken.stdout).toContain(`conversation ${lossy.id}: 1 message(s) missing in the target`);
      expect(broken.stderr).toMatch(/RESTORE_VERIFY_DIFFERS/);
      expect(writes()).toEqual([]); // a dry run with --verify only reads
    },
    // Eight CLI processes (three killed, a full restore, status, two verifying mirrors): about 25 s
    // alone, several times that on a loaded 2-core machine.
    240_000,
  );

  it.skipIf(skip)("--into-source brings back exactly the 3 conversations deleted at TalkJS", async () => {
    const victims = sim.allConversations().slice(0, 3);
    const expected = new Map(victims.map((c) => [c.id, sim.messages(c.id).filter(importable).length]));
    for (const c of victims) sim.deleteConversation(c.id);
    await mirror(source, "reconcile");
    for (const c of victims) expect((await store.getConversation(source, c.id))?.deletedAt).not.toBeNull();
    sim.clearRequestLog();
    // Into the source, the source's key is the target's (RESTORE_TALKJS_SECRET_KEY unset).
    const { RESTORE_TALKJS_SECRET_KEY: _other, ...sourceEnv } = env;
    const r = await runCli(
      ["restore", "--to-app", source, "--into-source", "--include-deleted", "--yes", "--json"],
      sourceEnv,
    );
    expect(r.code, r.stderr).toBe(0);
    const imported = new Set(
      sim.requestLog
        .filter((q) => q.method === "POST" && q.path.includes("/import/"))
        .map((q) => decodeURIComponent(q.path.split("/")[5] ?? "")),
    );
    expect([...imported].sort()).toEqual(
      [...expected.keys()].filter((id) => (expected.get(id) ?? 0) > 0).sort(),
    );
    for (const [id, n] of expected) expect(sim.messages(id)).toHaveLength(n);
    // old → new ids: every restored message's new id is in the ledger, once, and exists at TalkJS
    for (const [id, n] of expected) {
      const rows = await store.restore.ofConversation(source, source, id);
      const newIds = rows.map((r) => r.targetId);
      expect(rows.filter((r) => r.status === "applied")).toHaveLength(n);
      expect(new Set(newIds).size).toBe(n);
      const live = new Set(sim.messages(id).map((m) => m.id));
      expect(newIds.every((t) => t !== null && live.has(t))).toBe(true);
    }
    // The next pass mirrors the restored messages as rows of their own; v_restored_messages links
    // each to the row it restores, so they are not new, unrelated messages.
    await mirror(source, "reconcile");
    for (const c of victims) expect((await store.getConversation(source, c.id))?.deletedAt).toBeNull();
    const linked = await store.queryRaw(
      sql`SELECT r.message_id, r.restored_from, r.conversation_id FROM v_restored_messages r
        JOIN messages m ON m.app_id = r.app_id AND m.id = r.message_id
        JOIN messages o ON o.app_id = r.app_id AND o.id = r.restored_from AND o.conversation_id = m.conversation_id
        WHERE r.app_id = ${source}`,
    );
    expect(linked).toHaveLength([...expected.values()].reduce((a, b) => a + b, 0));
    expect(JSON.parse(r.stdout)).toMatchObject({
      messagesImported: [...expected.values()].reduce((a, b) => a + b, 0),
    });
  });
});
