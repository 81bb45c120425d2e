// `talkjs-mirror verify` as a user runs it: a child process, a simulator on loopback, a real
// database. Exit 0 for a matching mirror, 1 only when something differs; never creates a database.
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startSimulator } from "../../src/simulator/index.ts";
import type { Simulator } from "../../src/simulator/types.ts";
import { sql } from "../../src/store/sql/shared.ts";
import { openStore } from "../../src/store/store.ts";
import { freshDatabase, PROVIDERS, postgresAvailable, type TestDatabase } from "../helpers/db.ts";
import { runCli } from "./run-cli.ts";

describe.each(PROVIDERS)("verify command on %s", (provider) => {
  const skip = provider === "postgresql" && !postgresAvailable();
  let db: TestDatabase;
  let sim: Simulator;
  let env: Record<string, string>;

  beforeAll(async () => {
    if (skip) return;
    db = await freshDatabase(provider);
    sim = await startSimulator({ conversations: 120, seed: 4, appId: `verify_${provider}` });
    env = {
      TALKJS_APP_ID: sim.appId,
      TALKJS_SECRET_KEY: sim.secretKey,
      TALKJS_API_URL: sim.url,
      TALKJS_RATE_LIMIT_PER_SECOND: "1000",
      TALKJS_RATE_LIMIT_BURST: "1000",
      DATABASE_URL: db.url,
      LOG_LEVEL: "warn",
    };
    const backfill = await runCli(["backfill", "--quiet", "--no-messages"], env);
    expect(backfill.code, backfill.stderr).toBe(0);
  });
  afterAll(async () => {
    if (skip) return;
    await sim?.close();
    await db?.drop();
  });

  it.skipIf(skip)("a matching mirror exits 0 and prints the bound; a tampered one exits 1", async () => {
    const ok = await runCli(["verify", "--sample", "50", "--seed", "9"], env);
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stdout).toMatch(/^Verify: 50 of 120 mirrored conversations checked against TalkJS \(seed 9\)/);
    expect(ok.stdout).toMatch(/matching\s+50/);
    expect(ok.stdout).toMatch(/with 95% confidence fewer than 5\.8% of conversations differ/);

    const store = await openStore({ url: db.url });
    const [row] = await store.queryRaw(
      sql`SELECT id FROM conversations WHERE app_id = ${sim.appId} ORDER BY id LIMIT 1`,
    );
    await store.queryRaw(
      sql`UPDATE conversations SET content_hash = ${"f".repeat(64)} WHERE app_id = ${sim.appId} AND id = ${row?.id}`,
    );
    await store.close();
    const bad = await runCli(["verify", "--sample", "500", "--json"], env);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/VERIFY_DIFFERS.*1 of 120/);
    expect(JSON.parse(bad.stdout)).toMatchObject({
      checked: 120,
      differing: 1,
      exact: true,
      differences: [{ id: row?.id, fields: ["content_hash"] }],
    });
  });

  // Registered for that provider only (not reported as skipped for the other).
  if (provider === "sqlite")
    it.skipIf(skip)("never creates a database; bad flags name the flag", async () => {
      const dir = mkdtempSync(path.join(os.tmpdir(), "verify-"));
      try {
        const file = path.join(dir, "none.db");
        const missing = await runCli(["verify"], { ...env, DATABASE_URL: `file:${file}` });
        expect(missing.code).toBe(2);
        expect(missing.stderr).toMatch(/DB_MISSING.*no mirror database at/);
        expect(existsSync(file)).toBe(false);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
      const bad = await runCli(["verify", "--sample", "0"], env);
      expect(bad.code).toBe(2);
      expect(bad.stderr).toMatch(/--sample/);
    });
});
