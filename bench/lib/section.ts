// What a benchmark section (bench/sections/*) gets from the runner.
import type { DatabaseProvider } from "../../src/store/database-url.ts";
import type { BenchConfig } from "./config.ts";
import type { Db } from "./db.ts";
import type { ResultsTable } from "./results.ts";

export interface BenchContext {
  config: BenchConfig;
  results: ResultsTable;
  /** Keeps a database until the whole run ends (then it is dropped). */
  keep(db: Db): void;
  /** Peak RSS (MB) of reconcile over the core app, per database: the baseline of `large`. */
  reconcileRss: Partial<Record<DatabaseProvider, number>>;
}

export type Section = (ctx: BenchContext) => Promise<void>;
