import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it, vi } from "vitest";
import {
  checkDrift,
  derivePostgresSchema,
  isClean,
  pendingSql,
  SCHEMAS,
  SOURCE_SCHEMA,
} from "../../scripts/migrate-create.ts";
import { MirrorError } from "../../src/errors.ts";
import { parseDatabaseUrl } from "../../src/store/database-url.ts";
import { MigrationError, migrateDatabase, migrationsDir } from "../../src/store/migrate.ts";
import { openStore } from "../../src/store/store.ts";
import { emptyDatabase, PROVIDERS, postgresAvailable, sqlText, type TestDatabase } from "../helpers/db.ts";

const TABLES = ["conversation_participants", "conversations", "sync_runs", "sync_state"];
const CONVERSATION_COLUMNS = [
  "app_id",
  "id",
  "subject",
  "photo_url",
  "topic_id",
  "welcome_messages",
  "custom",
  "last_message",
  "last_message_at",
  "last_message_id",
  "last_message_sender_id",
  "created_at",
  "last_activity_at",
  "participant_count",
  "raw",
  "content_hash",
  "first_seen_at",
  "synced_at",
  "updated_at",
  "deleted_at",
  "seen_run_id",
];
const INDEXES = [
  "conversations_app_id_last_activity_at_idx",
  "conversations_app_id_created_at_idx",
  "conversations_app_id_deleted_at_idx",
  "conversation_participants_app_id_user_id_idx",
  "sync_runs_app_id_started_at_idx",
];

describe.each(PROVIDERS)("migrations on %s", (provider) => {
  const skip = provider === "postgresql" && !postgresAvailable();
  const dbs: TestDatabase[] = [];
  afterAll(async () => {
    for (const db of dbs) await db.drop();
  });

  it.skipIf(skip)("migrate from empty creates the schema; a second run is a no-op", async () => {
    const db = await emptyDatabase(provider);
    dbs.push(db);
    const config = parseDatabaseUrl(db.url);
    const applied = await migrateDatabase(config);
    expect(applied.length).toBeGreaterThan(0);
    expect(applied[0]).toMatch(/^\d{14}_init$/);
    expect(await migrateDatabase(config)).toEqual([]);

    const store = await openStore({ url: db.url });
    try {
      const q = (sql: string) => store.queryRaw(sqlText(sql));
      const names = (rows: Record<string, unknown>[]) => rows.map((r) => String(r.name)).sort();
      if (provider === "sqlite") {
        expect(names(await q("SELECT name FROM sqlite_master WHERE type = 'table'"))).toEqual(
          expect.arrayContaining([...TABLES, "_prisma_migrations"]),
        );
        const cols = names(await q("SELECT name FROM pragma_table_info('conversations')"));
        expect(cols).toEqual([...CONVERSATION_COLUMNS].sort());
        expect(names(await q("SELECT name FROM sqlite_master WHERE type = 'index'"))).toEqual(
          expect.arrayContaining(INDEXES),
        );
        expect(await q("PRAGMA journal_mode")).toEqual([{ journal_mode: "wal" }]);
      } else {
        expect(
          names(
            await q("SELECT table_name AS name FROM information_schema.tables WHERE table_schema = 'public'"),
          ),
        ).toEqual(expect.arrayContaining([...TABLES, "_prisma_migrations"]));
        const cols = await q(
          "SELECT column_name AS name, data_type AS type FROM information_schema.columns WHERE table_name = 'conversations'",
        );
        expect(names(cols)).toEqual([...CONVERSATION_COLUMNS].sort());
        const typeOf = (c: string) => cols.find((r) => r.name === c)?.type;
        expect(typeOf("created_at")).toBe("timestamp with time zone");
        expect(typeOf("raw")).toBe("jsonb");
        expect(
          names(await q("SELECT indexname AS name FROM pg_indexes WHERE schemaname = 'public'")),
        ).toEqual(expect.arrayContaining(INDEXES));
      }
      const recorded = await q(
        "SELECT migration_name, finished_at FROM _prisma_migrations ORDER BY migration_name",
      );
      expect(recorded.map((r) => r.migration_name)).toEqual(applied);
      expect(recorded.every((r) => r.finished_at !== null)).toBe(true);
    } finally {
      await store.close();
    }
  });

  it.skipIf(skip)(
    "a failing migration throws a typed MigrationError and leaves nothing half-applied",
    async () => {
      const db = await emptyDatabase(provider);
      dbs.push(db);
      const dir = mkdtempSync(path.join(os.tmpdir(), "talkjs-mirror-bad-migrations-"));
      try {
        const real = migrationsDir(provider);
        writeFileSync(
          path.join(dir, "migration_lock.toml"),
          readFileSync(path.join(real, "migration_lock.toml")),
        );
        mkdirSync(path.join(dir, "20000101000000_bad"));
        writeFileSync(
          path.join(dir, "20000101000000_bad", "migration.sql"),
          "BEGIN;\nCREATE TABLE half_done (id INTEGER);\nCREATE TABLE broken (id NO_SUCH_TYPE_AT_ALL(;\nCOMMIT;\n",
        );
        const config = parseDatabaseUrl(db.url);
        const error = await migrateDatabase(config, { migrationsDir: dir }).catch((e: unknown) => e);
        expect(error).toBeInstanceOf(MigrationError);
        expect(error).toBeInstanceOf(MirrorError);
        expect((error as MigrationError).code).toBe("DB_MIGRATION_FAILED");
        expect((error as Error).message).toContain(provider);
        // The next run refuses too (failed migration recorded), still typed.
        await expect(migrateDatabase(config, { migrationsDir: dir })).rejects.toBeInstanceOf(MigrationError);
        const store = await openStore({ url: db.url });
        try {
          const tables =
            provider === "sqlite"
              ? await store.queryRaw(sqlText("SELECT name FROM sqlite_master WHERE name = 'half_done'"))
              : await store.queryRaw(
                  sqlText("SELECT table_name FROM information_schema.tables WHERE table_name = 'half_done'"),
                );
          expect(tables).toEqual([]);
        } finally {
          await store.close();
        }
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  );

  it.skipIf(skip)("an empty migrations folder is an error, not a silent no-op", async () => {
    const db = await emptyDatabase(provider);
    dbs.push(db);
    const dir = mkdtempSync(path.join(os.tmpdir(), "talkjs-mirror-no-migrations-"));
    try {
      await expect(migrateDatabase(parseDatabaseUrl(db.url), { migrationsDir: dir })).rejects.toThrow(
        /no migrations found/,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("schema drift check", () => {
  it("the derived PostgreSQL schema is in sync with prisma/schema.prisma", () => {
    const derived = derivePostgresSchema(readFileSync(SOURCE_SCHEMA, "utf8"));
    expect(readFileSync(SCHEMAS.postgresql, "utf8")).toBe(derived);
    expect(derived).toContain('provider = "postgresql"');
    expect(derived).toContain('createdAt           DateTime  @map("created_at") @db.Timestamptz(3)');
  });

  it("detects a schema change that has no migration", async () => {
    const changed = readFileSync(SOURCE_SCHEMA, "utf8").replace(
      '  seenRunId           Int?      @map("seen_run_id")',
      '  seenRunId           Int?      @map("seen_run_id")\n  extra String?',
    );
    expect(changed).toContain("extra String?");
    const sql = await pendingSql("sqlite", changed);
    expect(sql).toMatch(/ALTER TABLE "conversations" ADD COLUMN "extra" TEXT/);
  });

  it.skipIf(!postgresAvailable())("schema.prisma and both migration histories agree (db:check)", async () => {
    const report = await checkDrift();
    expect(report.pending).toEqual({ sqlite: "", postgresql: "" });
    expect(isClean(report)).toBe(true);
  });
});

describe.each(PROVIDERS)("schema engine log on %s (SCHEMA_ENGINE_DEBUG)", (provider) => {
  it.skipIf(provider === "postgresql" && !postgresAvailable())(
    "is printed on stderr only when asked for",
    async () => {
      const quiet = await emptyDatabase(provider);
      const loud = await emptyDatabase(provider);
      const stderr = vi.spyOn(console, "error").mockImplementation(() => {});
      try {
        await migrateDatabase(parseDatabaseUrl(quiet.url));
        const engineLines = () => stderr.mock.calls.filter((call) => call[0] === "[schema-engine]");
        expect(engineLines()).toEqual([]);
        await migrateDatabase(parseDatabaseUrl(loud.url), { schemaEngineDebug: true });
        expect(engineLines().map((call) => String(call[1]))).toContainEqual(
          expect.stringContaining("Starting schema-engine-wasm"),
        );
      } finally {
        stderr.mockRestore();
        await quiet.drop();
        await loud.drop();
      }
    },
  );
});
