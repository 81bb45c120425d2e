import { existsSync, mkdtempSync, rmSync, statSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { ConfigError } from "../../src/errors.ts";
import { parseDatabaseUrl, redactDatabaseUrl } from "../../src/store/database-url.ts";
import { migrateDatabase } from "../../src/store/migrate.ts";
import { openStore } from "../../src/store/store.ts";

describe("parseDatabaseUrl", () => {
  it("file: → sqlite, resolved against cwd; parsing creates nothing", () => {
    const cwd = mkdtempSync(path.join(os.tmpdir(), "talkjs-mirror-url-"));
    try {
      const db = parseDatabaseUrl("file:./data/nested/mirror.db", { cwd });
      expect(db.provider).toBe("sqlite");
      expect(db.filePath).toBe(path.join(cwd, "data/nested/mirror.db"));
      expect(db.url).toBe(`file:${path.join(cwd, "data/nested/mirror.db")}`);
      expect(existsSync(path.join(cwd, "data"))).toBe(false);
      expect(parseDatabaseUrl("file:/tmp/x.db").filePath).toBe("/tmp/x.db");
      expect(parseDatabaseUrl("file:///tmp/y.db").filePath).toBe("/tmp/y.db");
    } finally {
      rmSync(cwd, { recursive: true, force: true });
    }
  });

  it.each(["migrate", "open"] as const)(
    "the SQLite file's directory is created when the database is opened for writing (%s)",
    async (how) => {
      const cwd = mkdtempSync(path.join(os.tmpdir(), "talkjs-mirror-url-"));
      try {
        const db = parseDatabaseUrl("file:./data/nested/mirror.db", { cwd });
        if (how === "migrate") await migrateDatabase(db);
        else await (await openStore(db)).close();
        expect(statSync(path.join(cwd, "data/nested")).isDirectory()).toBe(true);
        expect(existsSync(path.join(cwd, "data/nested/mirror.db"))).toBe(true);
      } finally {
        rmSync(cwd, { recursive: true, force: true });
      }
    },
  );

  it("postgres:// and postgresql:// → postgresql with pool size and password", () => {
    const a = parseDatabaseUrl("postgresql://u:s3cr%40t@db:5432/mirror", { poolSize: 7 });
    expect(a).toMatchObject({ provider: "postgresql", poolSize: 7, password: "s3cr@t" });
    expect(parseDatabaseUrl("postgres://db/mirror").provider).toBe("postgresql");
    expect(parseDatabaseUrl("postgres://db/mirror").password).toBeUndefined();
  });

  it.each([
    "mysql://root:hunter2@localhost/db",
    "hunter2",
    "",
    "sqlite:./x.db",
    "file:",
    "http://user:hunter2@example.com",
  ])("rejects %j with a ConfigError naming DATABASE_URL, never echoing the password", (url) => {
    let error: unknown;
    try {
      parseDatabaseUrl(url);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const message = (error as ConfigError).message;
    expect((error as ConfigError).setting).toBe("DATABASE_URL");
    expect(message).toMatch(/^DATABASE_URL: /);
    expect(message).toContain("file:");
    expect(message).toContain("postgresql://");
    expect(message).not.toContain("hunter2");
  });

  it("redactDatabaseUrl hides passwords", () => {
    expect(redactDatabaseUrl("postgresql://u:hunter2@db:5432/x")).toBe("postgresql://u:***@db:5432/x");
    expect(redactDatabaseUrl("postgresql://u@db/x")).toBe("postgresql://u@db/x");
    expect(redactDatabaseUrl("file:./a.db")).toBe("file:./a.db");
    expect(redactDatabaseUrl("postgresql://u:hun ter2@[bad")).not.toContain("hun ter2");
  });
});
