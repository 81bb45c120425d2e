import path from "node:path";
import { describe, expect, it } from "vitest";
import { loadConfig, TALKJS_OPTION_SETTINGS } from "../../src/config/index.ts";
import { resolveClientOptions, type TalkJSClientOptions } from "../../src/talkjs/config.ts";
import { configError } from "../helpers/config-error.ts";

const talkjsEnv = { TALKJS_APP_ID: "app1", TALKJS_SECRET_KEY: "sk_test_s3cret" };

describe("loadConfig", () => {
  it("applies the documented defaults", () => {
    const config = loadConfig(talkjsEnv, { requireTalkJS: true });
    expect(config.talkjs).toMatchObject({
      appId: "app1",
      secretKey: "sk_test_s3cret",
      baseUrl: "https://api.talkjs.com",
    });
    expect(config.sync).toEqual({
      clockSkewMs: 60_000,
      maxDeleteShare: 0.1,
      mirrorMessages: true,
      mirrorUsers: true,
      messageConcurrency: 4,
      backfillConcurrency: 1,
      confirmAfterMs: 3_600_000,
      files: {
        enabled: true,
        dir: path.resolve("talkjs-mirror-files"), // beside the default SQLite file
        concurrency: 4,
        maxBytes: 104_857_600,
        allowPrivateHosts: false,
        goneAfterDays: 7,
      },
    });
    expect(config.database.provider).toBe("sqlite");
    expect(config.log).toEqual({ level: "info", pretty: false });
    expect(config.secrets).toContain("sk_test_s3cret");
  });

  it("files: FILES_DIR beside the SQLite file, none (files off) for PostgreSQL unless set", () => {
    const sqlite = loadConfig(
      { ...talkjsEnv, DATABASE_URL: "file:/data/mirror.sqlite" },
      { requireTalkJS: true },
    );
    expect(sqlite.sync.files).toMatchObject({ enabled: true, dir: "/data/mirror-files" });
    const pg = { ...talkjsEnv, DATABASE_URL: "postgresql://u@db:5432/m" };
    expect(loadConfig(pg, { requireTalkJS: true }).sync.files).toMatchObject({
      enabled: false,
      dir: undefined,
    });
    expect(loadConfig({ ...pg, FILES_DIR: "/srv/files" }, { requireTalkJS: true }).sync.files).toMatchObject({
      enabled: true,
      dir: "/srv/files",
    });
    expect(
      loadConfig({ ...talkjsEnv, MIRROR_FILES: "false" }, { requireTalkJS: true }).sync.files?.enabled,
    ).toBe(false);
    expect(
      configError(() => loadConfig({ ...talkjsEnv, FILES_CONCURRENCY: "0" }, { requireTalkJS: true }))
        .message,
    ).toMatch(/^FILES_CONCURRENCY: 0 is out of range/);
  });

  it("names the missing setting and how to fix it", () => {
    const error = configError(() => loadConfig({ TALKJS_APP_ID: "app1" }, { requireTalkJS: true }));
    expect(error.setting).toBe("TALKJS_SECRET_KEY");
    expect(error.code).toBe("CONFIG_INVALID");
    expect(error.message).toMatch(/TALKJS_SECRET_KEY: is required.*secret key/);
  });

  it("reads SCHEMA_ENGINE_DEBUG like every other setting (off unless set)", () => {
    expect(loadConfig({}, { requireTalkJS: false }).schemaEngineDebug).toBe(false);
    expect(loadConfig({ SCHEMA_ENGINE_DEBUG: "true" }, { requireTalkJS: false }).schemaEngineDebug).toBe(
      true,
    );
  });

  it("reads RECONCILE_CONFIRM_AFTER as milliseconds or with a unit", () => {
    const confirmAfter = (v: string) =>
      loadConfig({ RECONCILE_CONFIRM_AFTER: v }, { requireTalkJS: false }).sync.confirmAfterMs;
    expect(confirmAfter("90000")).toBe(90_000);
    expect(confirmAfter("90s")).toBe(90_000);
    expect(confirmAfter("30m")).toBe(1_800_000);
    expect(confirmAfter("2h")).toBe(7_200_000);
    expect(confirmAfter("1d")).toBe(86_400_000);
  });

  it("does not need TalkJS credentials for database-only commands", () => {
    expect(loadConfig({}, { requireTalkJS: false }).talkjs).toBeUndefined();
  });

  it.each([
    ["LOG_LEVEL", "loud", /LOG_LEVEL: "loud" is not one of fatal, error/],
    ["LOG_PRETTY", "maybe", /LOG_PRETTY: "maybe" is not a boolean/],
    ["DATABASE_POOL_SIZE", "0", /DATABASE_POOL_SIZE: 0 is out of range; use a number between 1 and 100/],
    ["DATABASE_POOL_SIZE", "ten", /DATABASE_POOL_SIZE: "ten" is not a whole number/],
    ["DATABASE_URL", "mysql://localhost/db", /DATABASE_URL/],
    ["SCHEMA_ENGINE_DEBUG", "loud", /SCHEMA_ENGINE_DEBUG: "loud" is not a boolean/],
    ["RECONCILE_CONFIRM_AFTER", "soon", /RECONCILE_CONFIRM_AFTER: "soon" is not a duration.*1h/],
    ["RECONCILE_CONFIRM_AFTER", "31d", /RECONCILE_CONFIRM_AFTER: "31d" is not a duration between 0 ms and/],
  ])("rejects %s=%s with a message naming it", (name, value, message) => {
    const error = configError(() => loadConfig({ ...talkjsEnv, [name]: value }, { requireTalkJS: true }));
    expect(error.setting).toBe(name);
    expect(error.message).toMatch(message);
  });

  it.each([
    ["TALKJS_AUTH_MODE", "oauth", /^TALKJS_AUTH_MODE: must be "jwt" or "secret-key", got "oauth"$/],
    ["TALKJS_REST_VERSION", "2020-01-01", /^TALKJS_REST_VERSION: must be a date YYYY-MM-DD ≥ 2021-02-09/],
  ])("names the setting %s when the TalkJS client rejects its value", (name, value, message) => {
    const error = configError(() => loadConfig({ ...talkjsEnv, [name]: value }, { requireTalkJS: true }));
    expect(error.setting).toBe(name);
    expect(error.message).toMatch(message);
  });

  it("knows the setting behind every option the TalkJS client can reject", () => {
    const valid = { appId: "app1", secretKey: "sk_test_x" };
    const bad: Record<string, TalkJSClientOptions> = {
      appId: { ...valid, appId: "" },
      secretKey: { ...valid, secretKey: "" },
      baseUrl: { ...valid, baseUrl: "ftp://talkjs.example" },
      authMode: { ...valid, authMode: "oauth" as "jwt" },
      restVersion: { ...valid, restVersion: "2020-01-01" },
      "retry.maxAttempts": { ...valid, retry: { maxAttempts: 0 } },
      "retry.maxTotalMs": { ...valid, retry: { maxTotalMs: 0 } },
      "rateLimit.perSecond": { ...valid, rateLimit: { perSecond: 0 } },
      "rateLimit.burst": { ...valid, rateLimit: { burst: 0 } },
      connections: { ...valid, connections: 0 },
      maxConcurrency: { ...valid, maxConcurrency: 0 },
      headersTimeoutMs: { ...valid, headersTimeoutMs: 0 },
      bodyTimeoutMs: { ...valid, bodyTimeoutMs: 0 },
      pageSize: { ...valid, pageSize: 0 },
      throttleGiveUpMs: { ...valid, throttleGiveUpMs: 0 },
    };
    expect(Object.keys(bad).sort()).toEqual(Object.keys(TALKJS_OPTION_SETTINGS).sort());
    for (const [option, options] of Object.entries(bad)) {
      expect(configError(() => resolveClientOptions(options)).setting).toBe(option);
    }
  });

  it("keeps a PostgreSQL password out of errors but lists it as a secret", () => {
    const config = loadConfig(
      { ...talkjsEnv, DATABASE_URL: "postgresql://mirror:pa55word@db.example:5432/mirror" },
      { requireTalkJS: true },
    );
    expect(config.database.provider).toBe("postgresql");
    expect(config.secrets).toContain("pa55word");
  });
});
