// Webhooks end to end, on both databases: the simulator signs and POSTs over real HTTP to the
// worker's receiver, which stores, plans and fetches into a real SQLite file / PostgreSQL database.
// No scheduled sync runs in these tests (SYNC_CRON is a date far away) unless a test asks for one.
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { Writable } from "node:stream";
import Database from "better-sqlite3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { formatStatus } from "../../src/cli/format.ts";
import { loadConfig } from "../../src/config/index.ts";
import { loadWebhookSettings } from "../../src/config/webhooks.ts";
import { loadWorkerSettings } from "../../src/config/worker.ts";
import { createLogger } from "../../src/log.ts";
import { startSimulator } from "../../src/simulator/index.ts";
import type { Simulator } from "../../src/simulator/types.ts";
import { contentHash } from "../../src/store/hash.ts";
import { sql } from "../../src/store/sql/shared.ts";
import { openStore, type Store } from "../../src/store/store.ts";
import { runMirrorJob } from "../../src/sync/jobs.ts";
import { readStatus } from "../../src/sync/status.ts";
import { drainWebhookWork, FailingItems } from "../../src/sync/webhooks/consume.ts";
import { signWebhook } from "../../src/sync/webhooks/verify.ts";
import { createTalkJSClient } from "../../src/talkjs/client.ts";
import { startWorker } from "../../src/worker/worker.ts";
import { freshDatabase, PROVIDERS, postgresAvailable, type TestDatabase } from "../helpers/db.ts";
import { parseMetrics, waitFor } from "../helpers/wait.ts";
import { expectMirrorEquals } from "../sync/harness.ts";

const silent = () =>
  createLogger({
    level: "silent",
    destination: new Writable({ write: (_c, _e, cb) => cb() }),
  });

let apps = 0;

describe.each(PROVIDERS)("webhooks on %s", (provider) => {
  const skip = provider === "postgresql" && !postgresAvailable();
  let db: TestDatabase;
  let store: Store;
  let dir: string;

  beforeAll(async () => {
    if (skip) return;
    db = await freshDatabase(provider);
    store = await openStore({ url: db.url });
    dir = mkdtempSync(path.join(os.tmpdir(), "talkjs-mirror-webhooks-"));
  });
  afterAll(async () => {
    await store?.close();
    await db?.drop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const newSim = (conversations = 20) =>
    startSimulator({ conversations, seed: 7 + apps, appId: `hooks_${provider}_${process.pid}_${++apps}` });

  const env = (
    sim: Simulator,
    inbox: string,
    extra: Record<string, string> = {},
  ): Record<string, string> => ({
    TALKJS_APP_ID: sim.appId,
    TALKJS_SECRET_KEY: sim.secretKey,
    TALKJS_API_URL: sim.url,
    TALKJS_RATE_LIMIT_PER_SECOND: "2000",
    TALKJS_RATE_LIMIT_BURST: "2000",
    DATABASE_URL: db.url,
    METRICS_HOST: "127.0.0.1",
    METRICS_PORT: "0",
    WEBHOOK_HOST: "127.0.0.1",
    WEBHOOK_PORT: "0",
    WEBHOOK_INBOX_PATH: inbox,
    SYNC_CRON: "0 0 1 1 *",
    RECONCILE_CRON: "0 0 1 1 *",
    ...extra,
  });
  const start = async (sim: Simulator, extra: Record<string, string> = {}) => {
    const inbox = path.join(dir, `${sim.appId}.webhooks.db`);
    const settings = env(sim, inbox, extra);
    const config = loadConfig(settings, { requireTalkJS: true });
    const webhooks = loadWebhookSettings(settings, config.database, config.talkjs?.secretKey);
    const worker = await startWorker(
      config,
      { ...loadWorkerSettings(settings), ...(webhooks ? { webhooks } : {}) },
      { logger: silent() },
    );
    await worker.jobs.idle(); // the initial backfill
    return { worker, inbox, url: worker.webhookUrl as string };
  };
  /** A simulator of `conversations` whose webhooks go to a started worker (after its backfill). */
  const hooked = async (conversations: number) => {
    const sim = await newSim(conversations);
    const { worker, url } = await start(sim);
    sim.webhooks.configure({ url });
    return { sim, worker };
  };
  const inboxRows = (file: string): number => {
    const d = new Database(file, { readonly: true });
    try {
      return (d.prepare("SELECT COUNT(*) AS n FROM webhook_events").get() as { n: number }).n;
    } finally {
      d.close();
    }
  };
  const post = (url: string, body: string, headers: Record<string, string>) =>
    fetch(url, { method: "POST", headers: { "content-type": "application/json", ...headers }, body });
  const signed = (key: string, body: string, ts = String(Date.now())) => ({
    "x-talkjs-timestamp": ts,
    "x-talkjs-signature": signWebhook(key, ts, body),
  });
  const messageRow = async (appId: string, id: string) =>
    (
      await store.queryRaw(
        sql`SELECT text, content_hash, deleted_at FROM messages WHERE app_id = ${appId} AND id = ${id}`,
      )
    )[0];
  const backlog = async (appId: string) => (await store.webhookWork.backlog(appId)).queued;

  it.skipIf(skip)(
    "refuses bad signatures, stale timestamps, oversize and malformed bodies without storing them; accepts the previous key; stores a duplicate once",
    async () => {
      const sim = await newSim(3);
      const previous = "sk_test_rotated_out";
      const { worker, inbox, url } = await start(sim, { TALKJS_SECRET_KEY_PREVIOUS: previous });
      try {
        const body = JSON.stringify({
          type: "user.updated",
          createdAt: Date.now(),
          data: { user: { id: "nobody" } },
        });
        expect((await post(url, body, signed("sk_test_wrong", body))).status).toBe(401);
        expect((await post(url, body, { "x-talkjs-timestamp": String(Date.now()) })).status).toBe(401);
        const stale = String(Date.now() - 6 * 60_000);
        expect((await post(url, body, signed(sim.secretKey, body, stale))).status).toBe(400);
        const big = JSON.stringify({ type: "message.sent", data: { pad: "x".repeat(1_100_000) } });
        expect((await post(url, big, signed(sim.secretKey, big))).status).toBe(400);
        expect((await post(url, "not json", signed(sim.secretKey, "not json"))).status).toBe(400);
        const res = await post(url, body, signed(sim.secretKey, body));
        expect((await res.text()).includes(sim.secretKey)).toBe(false);
        expect(inboxRows(inbox)).toBe(1);
        // The retry of the same delivery, and the previous key during a rotation.
        expect((await post(url, body, signed(sim.secretKey, body))).status).toBe(200);
        expect(inboxRows(inbox)).toBe(1);
        const other = JSON.stringify({ type: "user.updated", createdAt: 1, data: { user: { id: "other" } } });
        expect((await post(url, other, signed(previous, other))).status).toBe(200);
        expect(inboxRows(inbox)).toBe(2);
        // Wrong method or path: nothing stored either.
        expect((await fetch(url)).status).toBe(405);
        const m = parseMetrics(await (await fetch(`${worker.url}/metrics`)).text());
        expect(m.get('talkjs_mirror_webhook_events_rejected_total{reason="bad_signature"}')).toBe(2);
        expect(m.get('talkjs_mirror_webhook_events_rejected_total{reason="stale_timestamp"}')).toBe(1);
        expect(m.get('talkjs_mirror_webhook_events_rejected_total{reason="oversize"}')).toBe(1);
        expect(m.get('talkjs_mirror_webhook_events_rejected_total{reason="malformed"}')).toBe(1);
        expect(m.get("talkjs_mirror_webhook_events_deduplicated_total")).toBe(1);
        expect(m.get('talkjs_mirror_webhook_events_received_total{type="user.updated"}')).toBe(2);
        expect(m.get('talkjs_mirror_webhook_queue_depth{stage="inbox"}')).toBeGreaterThanOrEqual(0);
        expect(m.get('talkjs_mirror_webhook_queue_depth{stage="queue"}')).toBeGreaterThanOrEqual(0);
      } finally {
        await worker.stop();
        await sim.close();
      }
    },
  );

  it.skipIf(skip)(
    "a message, an edit of an old message, a REST deletion and a user reach the mirror by webhook alone",
    async () => {
      const { sim, worker } = await hooked(10);
      const client = createTalkJSClient({ appId: sim.appId, secretKey: sim.secretKey, baseUrl: sim.url });
      try {
        const [a, b, c] = sim.allConversations().filter((x) => sim.messages(x.id).length >= 2);
        if (!a || !b || !c) throw new Error("too few conversations with messages");
        const sent = sim.addMessage(a.id, { senderId: "hook_user_1", text: "hello by webhook" });
        const old = sim.messages(b.id).at(-1);
        if (!old) throw new Error("no message");
        const edited = sim.editMessage(b.id, old.id, { text: "edited long after" });
        await client.deleteConversation(c.id);
        sim.putUser("hook_user_2", { name: "Created by webhook" });
        await waitFor("the new message", async () => (await messageRow(sim.appId, sent.id)) !== undefined);
        await waitFor(
          "the edit",
          async () => (await messageRow(sim.appId, old.id))?.content_hash === contentHash(edited),
        );
        await waitFor(
          "the deletion",
          async () => (await store.getConversation(sim.appId, c.id))?.deletedAt != null,
        );
        await waitFor("the user", async () => {
          const [u] = await store.queryRaw(
            sql`SELECT name FROM users WHERE app_id = ${sim.appId} AND id = ${"hook_user_2"}`,
          );
          return u?.name === "Created by webhook";
        });
        // No scheduled sync ran: only the initial backfill and webhook fetches.
        expect(await store.lastRunOfKind(sim.appId, "sync")).toBeNull();
        const m = parseMetrics(await (await fetch(`${worker.url}/metrics`)).text());
        expect(
          m.get('talkjs_mirror_webhook_event_to_mirror_seconds_count{kind="hook_conversation"}'),
        ).toBeGreaterThan(0);
        expect(m.get('talkjs_mirror_webhook_fetches_given_up_total{kind="hook_conversation"}')).toBe(0);
      } finally {
        await client.close();
        await worker.stop();
        await sim.close();
      }
    },
  );

  it.skipIf(skip)(
    "a conversation whose fetch keeps failing stays queued and does not hold back the others",
    async () => {
      const { sim, worker } = await hooked(10);
      try {
        const [bad, ...good] = sim.allConversations().filter((x) => sim.messages(x.id).length >= 1);
        if (!bad || good.length < 4) throw new Error("too few conversations with messages");
        // Its message listing is refused until the fault is lifted (403: not retried by the client,
        // so each try of the drain is one request).
        sim.addFault({
          fault: { kind: "status", status: 403 },
          match: { method: "GET", pathRegex: new RegExp(`/conversations/${bad.id}/messages$`) },
          probability: 1,
        });
        const stuck = sim.addMessage(bad.id, { senderId: "hook_user_1", text: "held back" });
        const sent = good
          .slice(0, 4)
          .map((c, i) => sim.addMessage(c.id, { senderId: "hook_user_1", text: `ok ${i}` }));
        for (const m of sent) {
          await waitFor(`message ${m.id}`, async () => (await messageRow(sim.appId, m.id)) !== undefined);
        }
        // The failing one is still queued (retried each tick), nothing of it written.
        await waitFor("the others dequeued", async () => (await backlog(sim.appId)) === 1);
        expect(await messageRow(sim.appId, stuck.id)).toBeUndefined();
        // More events for the others keep flowing while it fails.
        // Twenty more deliveries, one after the other: each kicks a drain, and each is applied while
        // the failing item is retried only after its backoff (1 s, 2 s, 4 s …), not by each drain.
        const badPath = `/v1/${sim.appId}/conversations/${bad.id}/messages`;
        const tries = () => sim.requestLog.filter((r) => r.path === badPath).length;
        const triesBefore = tries();
        const startedAt = Date.now();
        for (let i = 0; i < 20; i++) {
          const m = sim.addMessage(good[i % 4]?.id as string, {
            senderId: "hook_user_1",
            text: `later ${i}`,
          });
          await waitFor(`later message ${i}`, async () => (await messageRow(sim.appId, m.id)) !== undefined);
        }
        // At most one try per backoff window that opened meanwhile (≤ log2(seconds + 1) + 1).
        const windows = Math.floor(Math.log2((Date.now() - startedAt) / 1000 + 1)) + 1;
        expect(tries() - triesBefore).toBeLessThanOrEqual(windows + 1);
        sim.clearFaults();
        await waitFor(
          "the held-back message",
          async () => (await messageRow(sim.appId, stuck.id)) !== undefined,
        );
        await waitFor("an empty queue", async () => (await backlog(sim.appId)) === 0);
      } finally {
        await worker.stop();
        await sim.close();
      }
    },
  );

  it.skipIf(skip)("status shows the webhook backlog and its lag from the database", async () => {
    const appId = `hooks_status_${provider}_${++apps}`;
    const now = Date.now();
    expect((await readStatus(store, appId, now)).webhooks).toEqual({
      queued: 0,
      oldestQueuedAt: null,
      lagMs: 0,
    });
    await store.webhookWork.enqueue(appId, [
      { kind: "hook_conversation", key: "c1", at: new Date(now - 4_000) },
      { kind: "hook_user", key: "u1", at: new Date(now - 1_000) },
    ]);
    const status = await readStatus(store, appId, now);
    expect(status.webhooks).toEqual({
      queued: 2,
      oldestQueuedAt: new Date(now - 4_000).toISOString(),
      lagMs: 4_000,
    });
    expect(formatStatus(status)).toContain("Webhooks: 2 fetches queued");
  });

  it.skipIf(skip)(
    "the drain serves the longest-waiting work first and keeps work a newer event moved",
    async () => {
      const appId = `hooks_order_${provider}_${++apps}`;
      const work = store.webhookWork;
      const t = (s: number) => new Date(1_700_000_000_000 + s * 1_000);
      // A busy conversation keyed last ("z") waits since 0 s and gets another event at 5 s; a quiet
      // one ("a") waits since 2 s. Ordering by key or by newest event would serve "a" first.
      await work.enqueue(appId, [{ kind: "hook_conversation", key: "z_busy", at: t(0) }]);
      await work.enqueue(appId, [{ kind: "hook_conversation", key: "a_quiet", at: t(2) }]);
      await work.enqueue(appId, [{ kind: "hook_conversation", key: "z_busy", at: t(5) }]);
      // Events delivered out of order: an older receipt never moves the newest one back.
      await work.enqueue(appId, [{ kind: "hook_user", key: "u", at: t(4), firstAt: t(3) }]);
      await work.enqueue(appId, [{ kind: "hook_user", key: "u", at: t(1) }]);
      const listed = await work.list(appId, ["hook_conversation", "hook_user"], 10);
      expect(listed.map((i) => i.key)).toEqual(["z_busy", "u", "a_quiet"]);
      expect(listed.map((i) => i.enqueuedAt.getTime())).toEqual([t(5), t(4), t(2)].map((d) => d.getTime()));
      expect(await work.list(appId, ["hook_user"], 10)).toEqual([
        { kind: "hook_user", key: "u", enqueuedAt: t(4) },
      ]);
      expect((await work.backlog(appId)).oldestAt?.getTime()).toBe(t(0).getTime());
      // A round that started at 4 s read z_busy before its 5 s event: it stays queued for the next.
      const removed = await work.done(appId, listed, t(4));
      expect(removed.map((i) => i.key).sort()).toEqual(["a_quiet", "u"]);
      expect((await work.list(appId, ["hook_conversation", "hook_user"], 10)).map((i) => i.key)).toEqual([
        "z_busy",
      ]);
      expect(await work.done(appId, listed, t(5))).toEqual([
        { kind: "hook_conversation", key: "z_busy", enqueuedAt: t(5) },
      ]);
      expect(await backlog(appId)).toBe(0);
    },
  );

  it.skipIf(skip)("a scheduled job is not starved by a steady stream of webhooks", async () => {
    const { sim, worker } = await hooked(10);
    try {
      const ids = sim.allConversations().map((c) => c.id);
      let last: { id: string } | undefined;
      for (let i = 0; i < 100; i++) {
        last = sim.addMessage(ids[i % ids.length] as string, { senderId: "steady", text: `s${i}` });
        if (i === 25) worker.jobs.request("sync");
        await new Promise((r) => setTimeout(r, 20));
      }
      await worker.jobs.idle();
      expect((await store.lastRunOfKind(sim.appId, "sync"))?.status).toBe("succeeded");
      const lastId = last?.id as string;
      await waitFor("the last message", async () => (await messageRow(sim.appId, lastId)) !== undefined);
      await waitFor("the queue to drain", async () => (await backlog(sim.appId)) === 0);
    } finally {
      await worker.stop();
      await sim.close();
    }
  });

  it.skipIf(skip)("dropped webhooks are healed by the next scheduled sync", async () => {
    const sim = await newSim(10);
    const { worker, url } = await start(sim);
    sim.webhooks.configure({ url, faults: { drop: 1 } });
    try {
      const [a] = sim.allConversations();
      if (!a) throw new Error("no conversations");
      const sent = sim.addMessage(a.id, { senderId: "u_drop", text: "never announced" });
      await sim.webhooks.idle();
      expect(sim.webhooks.stats.dropped).toBeGreaterThan(0);
      expect(sim.webhooks.stats.attempts).toBe(0);
      expect(await messageRow(sim.appId, sent.id)).toBeUndefined();
      worker.jobs.request("sync"); // what the next SYNC_CRON tick does
      await worker.jobs.idle();
      expect((await messageRow(sim.appId, sent.id))?.content_hash).toBe(contentHash(sent));
    } finally {
      await worker.stop();
      await sim.close();
    }
  });

  it.skipIf(skip)(
    "1,000 mixed mutations at 50/s with duplicated, reordered and delayed deliveries leave the mirror exact but for deleted messages",
    async () => {
      const sim = await newSim(30);
      const { worker, inbox, url } = await start(sim);
      sim.webhooks.configure({
        url,
        faults: { duplicate: 0.1, reorder: 0.1, delay: 0.05, delayMs: 300 },
      });
      const client = createTalkJSClient({ appId: sim.appId, secretKey: sim.secretKey, baseUrl: sim.url });
      let seed = 1;
      const rand = () => {
        seed = (seed * 48_271) % 2_147_483_647;
        return seed / 2_147_483_647;
      };
      const pick = <T>(xs: readonly T[]): T | undefined => xs[Math.floor(rand() * xs.length)];
      const deletedMessages = new Set<string>();
      const usersPut = new Set<string>();
      try {
        for (let i = 0; i < 1_000; i++) {
          const conv = pick(sim.allConversations());
          if (!conv) break;
          const r = rand();
          if (r < 0.5) sim.addMessage(conv.id, { senderId: `mix_${i % 7}`, text: `m${i}` });
          else if (r < 0.7) {
            const m = pick(sim.messages(conv.id));
            if (m) sim.editMessage(conv.id, m.id, { text: `edit ${i}` });
          } else if (r < 0.8) {
            const m = pick(sim.messages(conv.id));
            if (m && sim.deleteMessage(conv.id, m.id)) deletedMessages.add(m.id);
          } else if (r < 0.95) {
            const id = `mixuser_${i % 11}`;
            sim.putUser(id, { name: `name ${i}` });
            usersPut.add(id);
          } else if (sim.allConversations().length > 10) await client.deleteConversation(conv.id);
          await new Promise((res) => setTimeout(res, 20)); // 50 mutations per second
        }
        await sim.webhooks.idle();
        expect(sim.webhooks.stats.failed).toBe(0);
        // Everything received has been planned and fetched.
        await waitFor("the inbox and the queue to drain", async () => {
          const d = new Database(inbox, { readonly: true });
          const pending = (
            d.prepare("SELECT COUNT(*) AS n FROM webhook_events WHERE processed_at IS NULL").get() as {
              n: number;
            }
          ).n;
          d.close();
          return pending === 0 && (await backlog(sim.appId)) === 0;
        });
        expect(await store.lastRunOfKind(sim.appId, "sync")).toBeNull();
        await expectMirrorEquals({ sim, appId: sim.appId }, store, { deletedMustBeMarked: true });
        // Messages: every live one exact; the deleted ones still live in the mirror (no webhook
        // marks a message deleted: `reconcile --messages` does), nothing else extra.
        const rows = await store.queryRaw(
          sql`SELECT m.id, m.content_hash, m.deleted_at FROM messages m JOIN conversations c
            ON c.app_id = m.app_id AND c.id = m.conversation_id
            WHERE m.app_id = ${sim.appId} AND c.deleted_at IS NULL`,
        );
        const mirrored = new Map(rows.map((r) => [String(r.id), r]));
        const problems: string[] = [];
        const live = new Set<string>();
        for (const c of sim.allConversations()) {
          for (const m of sim.messages(c.id)) {
            live.add(m.id);
            const row = mirrored.get(m.id);
            if (!row) problems.push(`${m.id}: missing`);
            else if (row.content_hash !== contentHash(m)) problems.push(`${m.id}: differs`);
          }
        }
        for (const id of mirrored.keys()) {
          if (!live.has(id) && !deletedMessages.has(id)) problems.push(`${id}: never existed`);
        }
        expect(problems.slice(0, 10)).toEqual([]);
        for (const id of usersPut) {
          const [u] = await store.queryRaw(
            sql`SELECT name FROM users WHERE app_id = ${sim.appId} AND id = ${id}`,
          );
          expect(u?.name).toBe(sim.user(id)?.name);
        }
      } finally {
        await client.close();
        await worker.stop();
        await sim.close();
      }
    },
    180_000,
  );

  /** A simulator of 10 conversations, backfilled into the mirror (no worker), and its job settings. */
  const backfilled = async (logger = silent()) => {
    const sim = await newSim(10);
    const client = createTalkJSClient({ appId: sim.appId, secretKey: sim.secretKey, baseUrl: sim.url });
    const ctx = { client, store, appId: sim.appId, logger };
    const settings = {
      clockSkewMs: 5_000,
      maxDeleteShare: 0.1,
      mirrorMessages: true,
      mirrorUsers: true,
      messageConcurrency: 2,
      backfillConcurrency: 1,
    };
    await runMirrorJob(ctx, "backfill", { settings });
    const close = async () => {
      await client.close();
      await sim.close();
    };
    return { sim, ctx, settings, close };
  };
  /** Two queued conversation fetches (queued while no worker held the lock); TalkJS refuses the first's GET. */
  const queueWithRefusal = async (sim: Simulator) => {
    const [bad, good] = sim.allConversations();
    if (!bad || !good) throw new Error("too few conversations");
    const at = new Date();
    await store.webhookWork.enqueue(sim.appId, [
      { kind: "hook_conversation", key: bad.id, at },
      { kind: "hook_conversation", key: good.id, at },
    ]);
    sim.addFault({
      fault: { kind: "status", status: 403 },
      match: { method: "GET", pathRegex: new RegExp(`/conversations/${bad.id}$`) },
      probability: 1,
    });
    return bad.id;
  };

  it.skipIf(skip)(
    "a queued webhook fetch that fails stays queued and does not fail the sync it rides on",
    async () => {
      const { sim, ctx, settings, close } = await backfilled();
      try {
        const bad = await queueWithRefusal(sim);
        const summary = await runMirrorJob(ctx, "sync", { settings });
        expect(summary.users).toBeDefined(); // the users pass, after the drain, still ran
        const queued = await store.webhookWork.list(sim.appId, ["hook_conversation"], 10);
        expect(queued.map((i) => i.key)).toEqual([bad]);
        expect((await store.lastRunOfKind(sim.appId, "sync"))?.status).toBe("succeeded");
        sim.clearFaults();
        await runMirrorJob(ctx, "sync", { settings });
        expect(await backlog(sim.appId)).toBe(0);
      } finally {
        await close();
      }
    },
    60_000,
  );

  it.skipIf(skip)(
    "a fetch still failing after the give-up time leaves the queue with a warning; the others are applied",
    async () => {
      const lines: string[] = [];
      const logger = createLogger({
        level: "warn",
        destination: new Writable({
          write: (c, _e, cb) => {
            lines.push(String(c));
            cb();
          },
        }),
      });
      const { sim, ctx, close } = await backfilled(logger);
      try {
        const bad = await queueWithRefusal(sim);
        const failing = new FailingItems({ giveUpAfterMs: 0 }); // an hour, shortened
        const givenUp: string[] = [];
        const drained = drainWebhookWork(ctx, {
          mirrorUsers: false,
          mirrorMessages: true,
          concurrency: 4,
          failing,
          onGivenUp: (kind) => givenUp.push(kind),
        });
        await expect(drained).rejects.toMatchObject({ code: "TALKJS_HTTP_403" });
        expect(givenUp).toEqual(["hook_conversation"]);
        expect(await backlog(sim.appId)).toBe(0);
        expect(failing.size).toBe(0);
        const warning = lines.map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => l.key === bad);
        expect(warning).toMatchObject({ kind: "hook_conversation", code: "TALKJS_HTTP_403" });
        expect(String(warning?.msg)).toContain("next sync or reconcile covers it");
      } finally {
        await close();
      }
    },
    60_000,
  );

  it.skipIf(skip)(
    "a worker killed with SIGKILL right after acknowledging applies the event on restart",
    async () => {
      const { sim, close } = await backfilled();
      const inbox = path.join(dir, `${sim.appId}.webhooks.db`);
      // An edit of an old message: no sync would see it (only a deep reconcile), so only the event can.
      const [conv] = sim.allConversations().filter((c) => sim.messages(c.id).length >= 2);
      const old = conv ? sim.messages(conv.id).at(-1) : undefined;
      if (!conv || !old) throw new Error("no message");
      const edited = sim.editMessage(conv.id, old.id, { text: "edited before the crash" });
      // This test holds the app's run lock, so the child can store the event but never apply it.
      const lock = await store.acquireRunLock(sim.appId, {
        kind: "sync",
        pid: process.pid,
        host: os.hostname(),
      });
      if (!lock) throw new Error("lock");
      let child: ChildProcess | undefined;
      try {
        child = spawn(process.execPath, ["--import", "tsx", "src/cli.ts", "run"], {
          env: { ...process.env, ...env(sim, inbox), LOG_LEVEL: "info" },
          stdio: ["ignore", "pipe", "pipe"],
        });
        let out = "";
        child.stdout?.on("data", (c: Buffer) => {
          out += String(c);
        });
        const url = await waitFor(
          "the child's webhook endpoint",
          async () => /"endpoint":"(http:[^"]+\/webhooks\/talkjs)"/.exec(out)?.[1],
        );
        const body = JSON.stringify({
          type: "message.updated",
          createdAt: Date.now(),
          data: { conversation: { id: conv.id }, message: edited },
        });
        expect((await post(url, body, signed(sim.secretKey, body))).status).toBe(200);
        child.kill("SIGKILL");
        await new Promise((r) => child?.once("exit", r));
        expect((await messageRow(sim.appId, old.id))?.content_hash).not.toBe(contentHash(edited));
      } finally {
        if (child && child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
        await lock.release();
      }
      const { worker } = await start(sim);
      try {
        await waitFor(
          "the recovered edit",
          async () => (await messageRow(sim.appId, old.id))?.content_hash === contentHash(edited),
        );
      } finally {
        await worker.stop();
        await close();
      }
    },
    60_000,
  );
});
