// SQL building blocks shared by the store's hand-written statements (conversations, messages).
import { Prisma } from "../generated/prisma/client.ts";

/** Parameters per statement: below SQLite's 32766 and PostgreSQL's 65535 limits. */
export const MAX_PARAMS = 30_000;

export function chunk<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/** A timestamp parameter. PG: explicit ISO + timestamptz so the session time zone never matters.
 * SQLite: a Date, which the adapter writes in the same text format as Prisma's own writes. */
export function sqlTimestamp(pg: boolean, value: Date | null): Prisma.Sql {
  if (value === null) return Prisma.sql`NULL`;
  return pg ? Prisma.sql`${value.toISOString()}::timestamptz` : Prisma.sql`${value}`;
}

/** A JSON parameter (jsonb on PG, JSON text on SQLite); undefined/null → SQL NULL. */
export function sqlJson(pg: boolean, value: unknown): Prisma.Sql {
  if (value === null || value === undefined) return Prisma.sql`NULL`;
  const text = JSON.stringify(value);
  return pg ? Prisma.sql`${text}::jsonb` : Prisma.sql`${text}`;
}

/** "Differs, NULLs compared as values": IS DISTINCT FROM on PostgreSQL, IS NOT on SQLite. */
export function sqlDistinct(pg: boolean): Prisma.Sql {
  return pg ? Prisma.raw("IS DISTINCT FROM") : Prisma.raw("IS NOT");
}
