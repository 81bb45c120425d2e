// Issue 16, item 15: a backfill killed during its message pass resumes with the pending messages
// only: the completed conversation pass is not listed again.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startSimulator } from "../../src/simulator/index.ts";
import type { Simulator } from "../../src/simulator/types.ts";
import { openStore } from "../../src/store/store.ts";
import { runCli, spawnCli } from "../cli/run-cli.ts";
import { freshDatabase, PROVIDERS, postgresAvailable, type TestDatabase } from "../helpers/db.ts";
import { expectMirrorEquals, listingRequests } from "../sync/harness.ts";

const messageRequests = (sim: Simulator): number =>
  sim.requestLog.filter((r) => r.method === "GET" && /\/messages$/.test(r.path)).length;

describe.each(PROVIDERS)("backfill killed during its message pass, on %s", (provider) => {
  const skip = provider === "postgresql" && !postgresAvailable();
  let sim: Simulator;
  let db: TestDatabase;
  beforeAll(async () => {
    if (skip) return;
    sim = await startSimulator({
      conversations: 120,
      seed: 15,
      appId: `resume_msgs_${provider}`,
      latencyMs: 15,
    });
    db = await freshDatabase(provider);
  });
  afterAll(async () => {
    await sim?.close();
    await db?.drop();
  });

  it.skipIf(skip)("the resume goes straight to the pending messages, without listing again", async () => {
    const env = {
      TALKJS_APP_ID: sim.appId,
      TALKJS_SECRET_KEY: sim.secretKey,
      TALKJS_API_URL: sim.url,
      TALKJS_RATE_LIMIT_PER_SECOND: "1000",
      TALKJS_RATE_LIMIT_BURST: "1000",
      MESSAGES_CONCURRENCY: "1",
      DATABASE_URL: db.url,
      LOG_LEVEL: "warn",
    };
    sim.clearRequestLog();
    const child = spawnCli(["backfill", "--quiet"], env);
    const closed = new Promise((resolve) => child.on("close", resolve));
    for (let i = 0; messageRequests(sim) < 10; i++) {
      if (i > 1500) throw new Error("the message pass did not start");
      await new Promise((r) => setTimeout(r, 20));
    }
    child.kill("SIGKILL");
    await closed;

    sim.clearRequestLog();
    const resumed = await runCli(["backfill", "--json"], env);
    expect(resumed.code, resumed.stderr).toBe(0);
    const summary = JSON.parse(resumed.stdout) as {
      conversationPassCompletedAt?: string;
      fetched: number;
      messages: { conversations: number; inserted: number };
    };
    expect(summary.conversationPassCompletedAt).toMatch(/^\d{4}-/);
    expect(summary.fetched).toBe(0);
    expect(listingRequests(sim)).toBe(0);
    expect(summary.messages.conversations).toBeGreaterThan(0);

    const store = await openStore({ url: db.url });
    try {
      await expectMirrorEquals({ sim, appId: sim.appId }, store, { deletedMustBeMarked: false });
      const live = sim.allConversations().filter((c) => c.lastMessage);
      let mirrored = 0;
      for (const c of live) mirrored += sim.messages(c.id).length;
      expect((await store.messages.stats(sim.appId)).live).toBe(mirrored);
    } finally {
      await store.close();
    }
  });
});
