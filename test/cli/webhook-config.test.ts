// The webhook receiver's settings: off unless WEBHOOK_PORT is set, and every mistake is a
// ConfigError naming the setting to fix (the worker exits 2 with it at start).
import { describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config/index.ts";
import { loadWebhookSettings } from "../../src/config/webhooks.ts";
import { configError } from "../helpers/config-error.ts";

const sqlite = {
  TALKJS_APP_ID: "app1",
  TALKJS_SECRET_KEY: "sk_test_now",
  DATABASE_URL: "file:/data/mirror.db",
};
const pg = { ...sqlite, DATABASE_URL: "postgresql://mirror:pw@db:5432/mirror" };

function settings(env: Record<string, string>) {
  const config = loadConfig(env, { requireTalkJS: false });
  return loadWebhookSettings(env, config.database, env.TALKJS_SECRET_KEY);
}

describe("webhook settings", () => {
  it("are off unless WEBHOOK_PORT is set", () => {
    expect(settings(sqlite)).toBeUndefined();
  });

  it("default the inbox beside a SQLite mirror, the host to every interface, retention to 7 days", () => {
    const s = settings({ ...sqlite, WEBHOOK_PORT: "8080" });
    expect(s).toMatchObject({ host: "0.0.0.0", port: 8080, retentionDays: 7, secrets: ["sk_test_now"] });
    expect(s?.inboxPath).toMatch(/^\/data\/mirror.*webhooks\.db$/);
  });

  it("accept the previous key during a rotation, after the current one", () => {
    const s = settings({ ...sqlite, WEBHOOK_PORT: "0", TALKJS_SECRET_KEY_PREVIOUS: "sk_test_old" });
    expect(s?.secrets).toEqual(["sk_test_now", "sk_test_old"]);
  });

  it("refuse to start without the secret key that verifies signatures", () => {
    const { TALKJS_SECRET_KEY: _, ...noKey } = sqlite;
    const error = configError(() => settings({ ...noKey, WEBHOOK_PORT: "8080" }));
    expect(error.setting).toBe("WEBHOOK_PORT");
    expect(error.message).toMatch(/TALKJS_SECRET_KEY/);
  });

  it("need WEBHOOK_INBOX_PATH with PostgreSQL, and never print the database password", () => {
    const error = configError(() => settings({ ...pg, WEBHOOK_PORT: "8080" }));
    expect(error.setting).toBe("WEBHOOK_INBOX_PATH");
    expect(error.message).not.toContain("pw");
    expect(settings({ ...pg, WEBHOOK_PORT: "8080", WEBHOOK_INBOX_PATH: "/data/inbox.db" })?.inboxPath).toBe(
      "/data/inbox.db",
    );
  });

  it("name the setting of a bad port or retention", () => {
    expect(configError(() => settings({ ...sqlite, WEBHOOK_PORT: "80a" })).setting).toBe("WEBHOOK_PORT");
    expect(configError(() => settings({ ...sqlite, WEBHOOK_PORT: "70000" })).setting).toBe("WEBHOOK_PORT");
    expect(
      configError(() => settings({ ...sqlite, WEBHOOK_PORT: "8080", WEBHOOK_EVENTS_RETENTION_DAYS: "0" }))
        .setting,
    ).toBe("WEBHOOK_EVENTS_RETENTION_DAYS");
  });
});
