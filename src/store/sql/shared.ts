// Building blocks of every statement under src/store/sql/. Statements are built with the `sql`
// tag only: each ${value} becomes a bound parameter and never part of the statement's text, so no
// quoting rule (and no server setting such as standard_conforming_strings) can change what a value
// means. Identifiers are code constants; the few fragments that differ by provider take `pg`.
import { Prisma } from "../../generated/prisma/client.ts";

export type Sql = Prisma.Sql;
/** The tag: `sql\`… ${value} …\`` binds `value` as a parameter (a nested `Sql` is inlined as SQL). */
export const sql = Prisma.sql;
export const join = Prisma.join;
export const empty = Prisma.empty;

/**
 * A table or column name from the code (a constant such as a table descriptor's columns), checked
 * to be a plain lower-case identifier: the one place text becomes SQL without a parameter.
 */
export function identifier(name: string): Sql {
  if (!/^[a-z_][a-z0-9_]*$/.test(name))
    throw new Error(`not a plain SQL identifier: ${JSON.stringify(name)}`);
  return Prisma.raw(name);
}

/** Parameters per statement: below SQLite's 32766 and PostgreSQL's 65535 limits. */
export const MAX_PARAMS = 30_000;

export function chunk<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/** A timestamp parameter. PG: explicit ISO + timestamptz so the session time zone never matters.
 * SQLite: a Date, which the adapter writes in the same text format as Prisma's own writes
 * (ISO with "+00:00": text order is time order only in exactly that format). */
export function sqlTimestamp(pg: boolean, value: Date | null): Sql {
  if (value === null) return Prisma.sql`NULL`;
  return pg ? Prisma.sql`${value.toISOString()}::timestamptz` : Prisma.sql`${value}`;
}

/** A timestamp parameter from Unix milliseconds (the API's unit); null/undefined → SQL NULL. */
export function sqlEpochMs(pg: boolean, ms: number | null | undefined): Sql {
  return sqlTimestamp(pg, ms === null || ms === undefined ? null : new Date(ms));
}

/** A JSON parameter (jsonb on PG, JSON text on SQLite); undefined/null → SQL NULL. */
export function sqlJson(pg: boolean, value: unknown): Sql {
  if (value === null || value === undefined) return Prisma.sql`NULL`;
  const text = JSON.stringify(value);
  return pg ? Prisma.sql`${text}::jsonb` : Prisma.sql`${text}`;
}

/** "Differs, NULLs compared as values": IS DISTINCT FROM on PostgreSQL, IS NOT on SQLite. */
export function sqlDistinct(pg: boolean): Sql {
  return pg ? Prisma.raw("IS DISTINCT FROM") : Prisma.raw("IS NOT");
}

/** A timestamp as a raw query returns it: a Date (PostgreSQL) or the stored text (SQLite). */
export function toDate(value: unknown): Date | null {
  if (value === null || value === undefined) return null;
  return value instanceof Date ? value : new Date(String(value));
}

/** Drivers return integers as number or bigint (and PostgreSQL COUNT as bigint): normalise. */
export function toNumber(value: unknown): number {
  return value === null || value === undefined ? 0 : Number(value);
}

/** A JSON column as a raw query returns it: parsed (PostgreSQL) or the stored text (SQLite). */
export function toJson<T>(value: unknown): T {
  return (typeof value === "string" ? JSON.parse(value) : value) as T;
}
