// Offline replacement for the Prisma CLI's native schema engine: Prisma's schema engine compiled
// to WebAssembly (@prisma/schema-engine-wasm), driven through a driver adapter. Used by
// migrate.ts (apply migrations at runtime) and scripts/migrate-create.ts (generate migrations).
// Recipe: /work/shared/notes/prisma-offline.md.
import { readdir, readFile } from "node:fs/promises";
import { createRequire } from "node:module";
import path from "node:path";
import {
  bindMigrationAwareSqlAdapterFactory,
  type SqlDriverAdapter,
  type SqlMigrationAwareDriverAdapterFactory,
} from "@prisma/driver-adapter-utils";
import type { MigrationList, SchemaEngine, SchemaFilter } from "@prisma/schema-engine-wasm";

export const noFilter: SchemaFilter = { externalTables: [], externalEnums: [] };

const require = createRequire(import.meta.url);

/** The wasm-bindgen glue module: only the members we call. */
interface EngineGlue {
  __wbg_set_wasm(exports: Record<string, unknown>): void;
  SchemaEngine: typeof SchemaEngine;
}

/** The part of the WebAssembly global we use (our lib setting, ES2023 without DOM, does not declare it). */
interface WasmApi {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: Record<string, unknown>) => { exports: Record<string, unknown> };
}
const wasm = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;

let engineClass: Promise<typeof SchemaEngine> | undefined;

function loadEngineClass(): Promise<typeof SchemaEngine> {
  // The package index does `import "./schema_engine_bg.wasm"`, which Node 20 cannot load;
  // instantiate the module by hand and hand its exports to the glue code.
  engineClass ??= (async () => {
    const glue = (await import("@prisma/schema-engine-wasm/schema_engine_bg")) as unknown as EngineGlue;
    const dir = path.dirname(require.resolve("@prisma/schema-engine-wasm/schema_engine_bg"));
    const module = new wasm.Module(await readFile(path.join(dir, "schema_engine_bg.wasm")));
    const instance = new wasm.Instance(module, { "./schema_engine_bg.js": glue });
    glue.__wbg_set_wasm(instance.exports);
    (instance.exports.__wbindgen_start as () => void)();
    return glue.SchemaEngine;
  })();
  return engineClass;
}

export interface OpenEngine {
  engine: SchemaEngine;
  /** Frees the engine AND every connection it opened (engine.free() alone leaks them). */
  close(): Promise<void>;
}

export interface SchemaEngineOptions {
  /** Print the engine's own log lines on stderr (SCHEMA_ENGINE_DEBUG, read by the config layer). */
  debug?: boolean;
}

export async function openSchemaEngine(
  factory: SqlMigrationAwareDriverAdapterFactory,
  options: SchemaEngineOptions = {},
): Promise<OpenEngine> {
  const opened: SqlDriverAdapter[] = [];
  const track = (connect: () => Promise<SqlDriverAdapter>) => async () => {
    const adapter = await connect();
    opened.push(adapter);
    return adapter;
  };
  const adapter = bindMigrationAwareSqlAdapterFactory({
    provider: factory.provider,
    adapterName: factory.adapterName,
    connect: track(() => factory.connect()),
    connectToShadowDb: track(() => factory.connectToShadowDb()),
  });
  const Engine = await loadEngineClass();
  const log = (message: string) => {
    if (options.debug) console.error("[schema-engine]", message);
  };
  let engine: SchemaEngine;
  try {
    engine = await Engine.new({ datamodels: undefined }, log, adapter);
  } catch (error) {
    for (const a of opened.splice(0)) await a.dispose();
    throw error;
  }
  return {
    engine,
    close: async () => {
      engine.free();
      for (const a of opened.splice(0)) await a.dispose();
    },
  };
}

/** The structure the Prisma CLI builds from a migrations folder (sorted <timestamp>_<name>/migration.sql). */
export async function listMigrations(dir: string): Promise<MigrationList> {
  const baseDir = path.resolve(dir);
  const lock = await readFile(path.join(baseDir, "migration_lock.toml"), "utf8").catch(() => null);
  const entries = (await readdir(baseDir, { withFileTypes: true }).catch(() => []))
    .filter((e) => e.isDirectory())
    .map((e) => e.name)
    .sort();
  const migrationDirectories = await Promise.all(
    entries.map(async (name) => ({
      path: name,
      migrationFile: {
        path: "migration.sql",
        content: await readFile(path.join(baseDir, name, "migration.sql"), "utf8").then(
          (value) => ({ tag: "ok" as const, value }),
          (e: Error) => ({ tag: "error" as const, value: e.message }),
        ),
      },
    })),
  );
  return {
    baseDir,
    lockfile: { path: "migration_lock.toml", content: lock },
    shadowDbInitScript: "",
    migrationDirectories,
  };
}
