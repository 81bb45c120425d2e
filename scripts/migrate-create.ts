// Offline replacement for `prisma migrate dev --create-only` (the CLI needs a native engine download).
//   tsx scripts/migrate-create.ts <name>  → derives prisma/postgresql/schema.prisma from prisma/schema.prisma,
//                                          then writes prisma/migrations/{sqlite,postgresql}/<ts>_<name>/migration.sql
//   tsx scripts/migrate-create.ts --check → exit 1 if the derived schema or either migration history is out of date
// How: replay the history on a scratch database (SQLite :memory:, PostgreSQL a temporary database on
// SHADOW_DATABASE_URL), then diff(scratch database → schema). See /work/shared/notes/prisma-offline.md.
import { randomUUID } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { PrismaBetterSqlite3 } from "@prisma/adapter-better-sqlite3";
import { PrismaPg } from "@prisma/adapter-pg";
import type { SqlMigrationAwareDriverAdapterFactory } from "@prisma/driver-adapter-utils";
import pg from "pg";
import { readBoolean } from "../src/config/env.ts";
import { listMigrations, noFilter, openSchemaEngine } from "../src/store/schema-engine.ts";

export type Provider = "sqlite" | "postgresql";
export const PROVIDERS: readonly Provider[] = ["sqlite", "postgresql"];

const ROOT = fileURLToPath(new URL("../", import.meta.url));
export const SOURCE_SCHEMA = path.join(ROOT, "prisma/schema.prisma");
export const SCHEMAS: Record<Provider, string> = {
  sqlite: SOURCE_SCHEMA,
  postgresql: path.join(ROOT, "prisma/postgresql/schema.prisma"),
};
const MIGRATIONS = path.join(ROOT, "prisma/migrations");

/**
 * prisma/postgresql/schema.prisma from the SQLite source: provider and output swapped, and every
 * DateTime column stored as timestamptz(3) (the SQLite schema cannot carry @db.* attributes).
 */
export function derivePostgresSchema(source: string): string {
  const header =
    "// GENERATED from prisma/schema.prisma by scripts/migrate-create.ts — do not edit by hand.\n" +
    "// Regenerate: npm run db:migration <name>   Check: npm run db:check\n";
  // Drop the source's own leading comment block: it describes the source, not this copy.
  const body = source
    .replace(/^(\/\/.*\n)+\n?/, "")
    .replace(/provider\s*=\s*"sqlite"/, 'provider = "postgresql"')
    .replace(/output(\s*)=(\s*)"\.\.\/src\/generated\/prisma"/, 'output$1=$2"../../src/generated/prisma-pg"')
    .split("\n")
    .map((line) => {
      const m = /^(\s+\w+\s+DateTime\??)(\s.*)?$/.exec(line);
      if (!m || line.includes("@db.")) return line;
      return `${m[1]}${m[2] ?? ""} @db.Timestamptz(3)`.replace(/\s+@db/, " @db");
    })
    .join("\n");
  return header + body;
}

/** Wraps a PostgreSQL migration in a transaction so a failure leaves nothing half-applied. */
function wrapInTransaction(sql: string): string {
  return `BEGIN;\n\n${sql.trimEnd()}\n\nCOMMIT;\n`;
}

// @prisma/adapter-pg 7.10 cannot deserialize PG's internal "char" type (OID 18) that the schema
// describer selects ("Column type 'char' could not be deserialized"); report it as text (25).
function charAsText<T>(result: T): T {
  const fields = (result as { fields?: { dataTypeID: number }[] } | undefined)?.fields ?? [];
  for (const f of fields) if (f.dataTypeID === 18) f.dataTypeID = 25;
  return result;
}
class CharSafePool extends pg.Pool {
  // pg.Pool.query has many overloads; forwarding them all generically needs a loose signature.
  // biome-ignore lint/suspicious/noExplicitAny: overloaded pg API, see above
  override query(...args: any[]): any {
    // biome-ignore lint/suspicious/noExplicitAny: see above
    const result = (super.query as (...a: any[]) => unknown).apply(this, args);
    return result instanceof Promise ? result.then(charAsText) : result;
  }
}

async function scratchDatabase(
  provider: Provider,
): Promise<{ factory: SqlMigrationAwareDriverAdapterFactory; drop: () => Promise<void> }> {
  if (provider === "sqlite") {
    return { factory: new PrismaBetterSqlite3({ url: ":memory:" }), drop: async () => {} };
  }
  const admin = process.env.SHADOW_DATABASE_URL ?? "postgresql://postgres@127.0.0.1:5432/postgres";
  const name = `prisma_scratch_${randomUUID().replace(/-/g, "")}`;
  const adminClient = new pg.Client({ connectionString: admin });
  await adminClient.connect();
  try {
    await adminClient.query(`CREATE DATABASE "${name}"`);
  } finally {
    await adminClient.end();
  }
  const url = new URL(admin);
  url.pathname = `/${name}`;
  const pool = new CharSafePool({ connectionString: url.toString() });
  return {
    // adapter-pg bundles its own @types/pg copy; the runtime class is the same pg.Pool.
    factory: new PrismaPg(pool as unknown as ConstructorParameters<typeof PrismaPg>[0]),
    drop: async () => {
      await pool.end();
      const c = new pg.Client({ connectionString: admin });
      await c.connect();
      try {
        await c.query(`DROP DATABASE IF EXISTS "${name}"`);
      } finally {
        await c.end();
      }
    },
  };
}

/** SQL that takes the database produced by the migration history to the schema ("" if none). */
export async function pendingSql(provider: Provider, schemaText?: string): Promise<string> {
  const schemaPath = SCHEMAS[provider];
  const content = schemaText ?? readFileSync(schemaPath, "utf8");
  const files = [{ path: schemaPath, content }];
  const scratch = await scratchDatabase(provider);
  try {
    const { engine, close } = await openSchemaEngine(scratch.factory, {
      debug: readBoolean(process.env, "SCHEMA_ENGINE_DEBUG", false),
    });
    try {
      // The "shadow database", done by hand: the engine's own shadow path is broken with these adapters.
      await engine.applyMigrations({
        migrationsList: await listMigrations(path.join(MIGRATIONS, provider)),
        filters: noFilter,
      });
      const { stdout } = await engine.diff({
        from: { tag: "schemaDatasource", files, configDir: ROOT },
        to: { tag: "schemaDatamodel", files },
        script: true,
        exitCode: null,
        filters: noFilter,
      });
      return stdout && !stdout.startsWith("-- This is an empty migration.") ? stdout : "";
    } finally {
      await close();
    }
  } finally {
    await scratch.drop();
  }
}

export interface DriftReport {
  /** The derived PostgreSQL schema differs from what prisma/schema.prisma produces. */
  derivedSchemaStale: boolean;
  /** Per provider: SQL the migrations are missing ("" when in sync). */
  pending: Record<Provider, string>;
}

export async function checkDrift(): Promise<DriftReport> {
  const expected = derivePostgresSchema(readFileSync(SOURCE_SCHEMA, "utf8"));
  const actual = existsSync(SCHEMAS.postgresql) ? readFileSync(SCHEMAS.postgresql, "utf8") : "";
  const pending = { sqlite: "", postgresql: "" };
  for (const provider of PROVIDERS) {
    pending[provider] = await pendingSql(provider, provider === "postgresql" ? expected : undefined);
  }
  return { derivedSchemaStale: expected !== actual, pending };
}

export function isClean(report: DriftReport): boolean {
  return !report.derivedSchemaStale && PROVIDERS.every((p) => report.pending[p] === "");
}

async function create(name: string): Promise<void> {
  if (!/^[a-z0-9_]+$/.test(name)) throw new Error("migration name: use lowercase letters, digits and _");
  mkdirSync(path.dirname(SCHEMAS.postgresql), { recursive: true });
  writeFileSync(SCHEMAS.postgresql, derivePostgresSchema(readFileSync(SOURCE_SCHEMA, "utf8")));
  const stamp = new Date().toISOString().replace(/\D/g, "").slice(0, 14);
  for (const provider of PROVIDERS) {
    let sql = await pendingSql(provider);
    if (!sql) {
      console.log(`[${provider}] no changes`);
      continue;
    }
    // SQLite: PRAGMA foreign_keys is a no-op inside a transaction, so only wrap redefinition-free scripts.
    if (provider === "postgresql" || !/PRAGMA\s+foreign_keys/i.test(sql)) sql = wrapInTransaction(sql);
    const root = path.join(MIGRATIONS, provider);
    const dir = path.join(root, `${stamp}_${name}`);
    mkdirSync(dir, { recursive: true });
    writeFileSync(path.join(dir, "migration.sql"), sql);
    const lock = path.join(root, "migration_lock.toml");
    if (!existsSync(lock)) {
      writeFileSync(
        lock,
        `# Please do not edit this file manually\n# It should be added in your version-control system (e.g., Git)\nprovider = "${provider}"\n`,
      );
    }
    console.log(`[${provider}] created ${path.relative(ROOT, dir)}`);
  }
}

async function main(argv: string[]): Promise<number> {
  const arg = argv[0];
  if (!arg) {
    console.error("usage: tsx scripts/migrate-create.ts <name> | --check");
    return 2;
  }
  if (arg !== "--check") {
    await create(arg);
    return 0;
  }
  const report = await checkDrift();
  if (report.derivedSchemaStale) {
    console.error("prisma/postgresql/schema.prisma is out of date: run `npm run db:migration <name>`.");
  }
  for (const provider of PROVIDERS) {
    if (report.pending[provider]) {
      console.error(`[${provider}] schema has changes without a migration:\n${report.pending[provider]}`);
    }
  }
  if (isClean(report)) console.log("schema and migrations agree (sqlite, postgresql)");
  return isClean(report) ? 0 : 1;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (error: unknown) => {
      console.error(error);
      process.exit(1);
    },
  );
}
