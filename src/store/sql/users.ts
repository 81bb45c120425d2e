// Statements of the users family: the users table as a mirror table (its upsert is the shared one
// in ./upsert.ts) and the reads the users pass, status and the demo need.
import type { MirroredUser } from "../../talkjs/types.ts";
import { join, type Sql, sql, sqlEpochMs, sqlJson } from "./shared.ts";
import { defineMirrorTable } from "./upsert.ts";

/**
 * users: one row per user, the API object in `raw` (never with `pushTokens`: the client drops
 * them) plus the columns analytics need.
 */
export const USERS = defineMirrorTable<MirroredUser>({
  table: "users",
  columns: ["name", "email", "phone", "role", "locale", "created_at", "custom", "raw"],
  runColumn: "seen_run_id",
  id: (u) => u.id,
  values: (u, pg) => [
    u.name ?? null,
    sqlJson(pg, u.email ?? null),
    sqlJson(pg, u.phone ?? null),
    u.role ?? null,
    u.locale ?? null,
    sqlEpochMs(pg, typeof u.createdAt === "number" ? u.createdAt : null),
    sqlJson(pg, u.custom ?? {}),
    sqlJson(pg, u),
  ],
});

/**
 * Which of `ids` have a users row (live or deleted): the sync's users pass GETs only the others,
 * so its cost follows the ids the pass wrote, never the mirror. Primary key lookups.
 */
export function knownUserIds(appId: string, ids: readonly string[]): Sql {
  return sql`SELECT id FROM users WHERE app_id = ${appId} AND id IN (${join(ids)})`;
}

/** `status` and the demo: live and deleted users of one app (primary key range on app_id). */
export function userStats(appId: string): Sql {
  return sql`SELECT SUM(CASE WHEN deleted_at IS NULL THEN 1 ELSE 0 END) AS live,
      SUM(CASE WHEN deleted_at IS NULL THEN 0 ELSE 1 END) AS deleted
    FROM users WHERE app_id = ${appId}`;
}

/** The demo's and the tests' row-by-row check: every user's content hash and deletion. */
export function userHashes(appId: string): Sql {
  return sql`SELECT id, content_hash, deleted_at FROM users WHERE app_id = ${appId}`;
}
