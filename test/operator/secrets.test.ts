// Issue 16, items 1-2: no credential of DATABASE_URL is shown or stored, and the log scrubber
// catches secrets holding characters JSON escapes.
import { describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config/index.ts";
import { createLogger } from "../../src/log.ts";
import {
  databaseUrlSecrets,
  maskDatabaseText,
  parseDatabaseUrl,
  redactDatabaseUrl,
} from "../../src/store/database-url.ts";
import { migrateDatabase } from "../../src/store/migrate.ts";
import { openStore } from "../../src/store/store.ts";
import { runCli } from "../cli/run-cli.ts";
import { freshDatabase, postgresAvailable } from "../helpers/db.ts";

const URLS: [string, string[]][] = [
  ["postgresql://u@db:5432/x?password=hunter2q", ["hunter2q"]],
  [
    "postgresql://u@db/x?sslmode=require&sslpassword=keypass9&sslkey=/etc/keys/client.key",
    ["keypass9", "/etc/keys/client.key"],
  ],
  ["postgresql://u:pa%40ss%3Aw0rd@db/x", ["pa%40ss%3Aw0rd", "pa@ss:w0rd"]],
  ["postgresql://u:p@ss:w0rd@db/x", ["p@ss:w0rd"]],
  ["postgres://u:hun ter2@[bad", ["hun ter2"]],
  ["postgresql://u@db/x?Password=Upper_case1&passfile=/home/u/.pgpass", ["Upper_case1", "/home/u/.pgpass"]],
];

describe("database URL masking", () => {
  it.each(URLS)("%s: every credential masked, the rest kept", (url, secrets) => {
    const shown = redactDatabaseUrl(url);
    for (const secret of secrets) expect(shown).not.toContain(secret);
    expect(shown).toContain("***");
    expect(databaseUrlSecrets(url)).toEqual(expect.arrayContaining(secrets));
    const text = maskDatabaseText(`failed on ${url} (secret ${secrets.join(" ")})`, url);
    for (const secret of secrets) expect(text).not.toContain(secret);
  });

  it("keeps harmless parameters and credential-free URLs as given", () => {
    expect(redactDatabaseUrl("postgresql://u@db/x?sslmode=require&application_name=m")).toBe(
      "postgresql://u@db/x?sslmode=require&application_name=m",
    );
    expect(redactDatabaseUrl("postgresql://u@db/x?password=s&sslmode=require")).toBe(
      "postgresql://u@db/x?password=***&sslmode=require",
    );
    expect(redactDatabaseUrl("file:/tmp/a.db")).toBe("file:/tmp/a.db");
  });

  it("the config lists query-parameter passwords as secrets", () => {
    const config = loadConfig(
      { DATABASE_URL: "postgresql://u@db/x?password=hunter2q&sslpassword=keypass9" },
      { requireTalkJS: false },
    );
    expect(config.secrets).toEqual(expect.arrayContaining(["hunter2q", "keypass9"]));
  });
});

describe("the log scrubber works on values", () => {
  const SECRETS = ['pa"ss\\wo"rd!', "sk_test_back\\slash", "plain-secret-1"];
  it.each(SECRETS)("%j never reaches a log line, in the message, fields, errors or bindings", (secret) => {
    const lines: string[] = [];
    const log = createLogger({ secrets: [secret], destination: { write: (l: string) => lines.push(l) } });
    log.info({ detail: `connect failed: ${secret}`, nested: { list: [secret] } }, `message ${secret}`);
    log.error(new Error(`driver said ${secret}`));
    log.child({ url: `postgresql://u:${secret}@h/db` }).warn({ err: new Error(secret) }, "child");
    log.info("format %s and %j", secret, { s: secret });
    expect(lines).toHaveLength(4);
    for (const line of lines) {
      const parsed = JSON.parse(line) as unknown;
      expect(JSON.stringify(parsed)).not.toContain(JSON.stringify(secret).slice(1, -1));
      expect(line).not.toContain(secret);
      expect(line).toContain("[REDACTED]");
    }
    // Fields around the secret survive; the error keeps its shape.
    const error = JSON.parse(lines[1] ?? "{}") as { err?: { message?: string; type?: string }; msg?: string };
    expect(error.err?.type).toBe("Error");
    expect(error.err?.message).toBe("driver said [REDACTED]");
  });
});

const skipPg = !postgresAvailable();

describe.skipIf(skipPg)("PostgreSQL with ?password= in DATABASE_URL", () => {
  it("migrate text and --json, a failed migration and stored run errors never show it", async () => {
    const db = await freshDatabase("postgresql");
    try {
      // Trust authentication accepts (and ignores) the password: the URL works as given.
      const url = `${db.url}?password=Hunter2query&sslpassword=Ssl%22pass%5C1`;
      const text = await runCli(["migrate"], { DATABASE_URL: url });
      expect(text.code, text.stderr).toBe(0);
      expect(text.stdout).toContain("password=***");
      const json = await runCli(["migrate", "--json"], { DATABASE_URL: url });
      expect(json.code, json.stderr).toBe(0);
      expect((JSON.parse(json.stdout) as { database: string }).database).toContain("sslpassword=***");
      const missing = url.replace(/\/talkjs_mirror_test_\w+\?/, "/no_such_database_x?");
      const failed = await runCli(["migrate", "--json"], { DATABASE_URL: missing });
      expect(failed.code).not.toBe(0);
      expect(failed.stderr).toContain("no_such_database_x");
      for (const out of [text, json, failed]) {
        for (const secret of ["Hunter2query", "Ssl%22pass%5C1", 'Ssl"pass\\1']) {
          expect(out.stdout + out.stderr).not.toContain(secret);
        }
      }
      const store = await openStore(parseDatabaseUrl(url));
      try {
        const runId = await store.startRun("app", "sync");
        await store.finishRun(runId, { status: "failed", error: `lost ${url}: Hunter2query`, counts: {} });
        await store.recordSyncError("app", "created", `lost ${url}`);
        const [run] = await store.lastRuns("app", 1);
        const state = await store.getSyncState("app", "created");
        for (const stored of [run?.error, state?.lastError]) {
          expect(stored).toContain("password=***");
          expect(stored).not.toContain("Hunter2query");
          expect(stored).not.toContain("Ssl%22pass");
        }
      } finally {
        await store.close();
      }
      await expect(migrateDatabase(parseDatabaseUrl(missing))).rejects.not.toThrow(/Hunter2query/);
    } finally {
      await db.drop();
    }
  });
});
