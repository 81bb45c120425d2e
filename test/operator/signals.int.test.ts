// Issue 16, item 10: a stop requested with SIGINT/SIGTERM is not an error: one line saying where
// it stopped, exit 130/143; `export --out - | head` ends quietly when the reader leaves.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startSimulator } from "../../src/simulator/index.ts";
import type { Simulator } from "../../src/simulator/types.ts";
import { openStore } from "../../src/store/store.ts";
import { runCli, spawnCli } from "../cli/run-cli.ts";
import { freshDatabase, type TestDatabase } from "../helpers/db.ts";
import { makeConversation } from "../store/fixtures.ts";
import { listingRequests } from "../sync/harness.ts";

let sim: Simulator;
let db: TestDatabase;
let env: Record<string, string>;
beforeAll(async () => {
  sim = await startSimulator({ conversations: 900, seed: 12, appId: "signals", latencyMs: 20 });
  db = await freshDatabase("sqlite");
  env = {
    TALKJS_APP_ID: sim.appId,
    TALKJS_SECRET_KEY: sim.secretKey,
    TALKJS_API_URL: sim.url,
    TALKJS_RATE_LIMIT_PER_SECOND: "1000",
    TALKJS_RATE_LIMIT_BURST: "1000",
    DATABASE_URL: db.url,
    LOG_LEVEL: "error",
  };
});
afterAll(async () => {
  await sim?.close();
  await db?.drop();
});

describe("a requested stop", () => {
  it.each([
    ["SIGTERM", 143],
    ["SIGINT", 130],
  ] as const)("%s: 'stopped on request after page N; run again to resume', exit %i", async (signal, code) => {
    sim.clearRequestLog();
    const child = spawnCli(["backfill", "--quiet", "--no-messages"], env);
    let stderr = "";
    child.stderr?.on("data", (c: string) => {
      stderr += c;
    });
    const closed = new Promise<number | null>((resolve) => child.on("close", resolve));
    for (let i = 0; listingRequests(sim) < 4; i++) {
      if (i > 1500) throw new Error(`backfill did not make progress: ${stderr}`);
      await new Promise((r) => setTimeout(r, 20));
    }
    child.kill(signal);
    expect(await closed).toBe(code);
    expect(stderr).toMatch(
      new RegExp(`stopped on request \\(${signal}\\) after page [1-9]\\d*; run again to resume`),
    );
    expect(stderr).not.toMatch(/error \[/);
  });

  it("the next run resumes and completes", async () => {
    const r = await runCli(["backfill", "--quiet", "--no-messages", "--json"], env);
    expect(r.code, r.stderr).toBe(0);
    expect((JSON.parse(r.stdout) as { resumed: boolean }).resumed).toBe(true);
  });
});

describe("export --out - | head", () => {
  it("exits quietly (141, nothing on stderr) when the reader closes the pipe", async () => {
    const store = await openStore({ url: db.url });
    const many = Array.from({ length: 4000 }, (_, i) =>
      makeConversation(`bulk-${String(i).padStart(5, "0")}`),
    );
    await store.upsertConversations("bulk", many, { seenAt: new Date() });
    await store.close();
    const child = spawnCli(["export", "--out", "-"], { ...env, TALKJS_APP_ID: "bulk" });
    let stderr = "";
    child.stderr?.on("data", (c: string) => {
      stderr += c;
    });
    const closed = new Promise<number | null>((resolve) => child.on("close", resolve));
    // Like `head -1`: read the first line, then close the pipe.
    await new Promise<void>((resolve) => child.stdout?.once("data", () => resolve()));
    child.stdout?.destroy();
    expect(await closed).toBe(141);
    expect(stderr).toBe("");
  });
});
