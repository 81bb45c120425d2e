// Issue 16, item 9: a page transaction whose PostgreSQL connection is terminated is retried on a
// new connection; only when reconnecting keeps failing does it fail, with DB_CONNECTION_LOST.
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openStore, type Store } from "../../src/store/store.ts";
import { freshDatabase, postgresAvailable, type TestDatabase } from "../helpers/db.ts";
import { makeConversation } from "../store/fixtures.ts";

describe.skipIf(!postgresAvailable())("a dropped PostgreSQL pool connection", () => {
  let db: TestDatabase;
  let store: Store;
  let admin: pg.Client;
  let name: string;
  beforeAll(async () => {
    db = await freshDatabase("postgresql");
    name = new URL(db.url).pathname.slice(1);
    store = await openStore({ url: db.url, poolSize: 2 });
    admin = new pg.Client({ connectionString: db.url.replace(/\/[^/?]+(\?|$)/, "/postgres$1") });
    await admin.connect();
  });
  afterAll(async () => {
    await admin?.query(`ALTER DATABASE "${name}" ALLOW_CONNECTIONS true`).catch(() => {});
    await admin?.end();
    await store?.close();
    await db?.drop();
  });

  /** Terminates every session of the test database: what a failover or pooler restart does. */
  const terminateAll = async (): Promise<number> => {
    const r = await admin.query(
      "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()",
      [name],
    );
    return r.rowCount ?? 0;
  };

  it("the next page transaction is retried on a new connection and commits", async () => {
    const page = (i: number) => [makeConversation(`c${i}a`), makeConversation(`c${i}b`)];
    await store.upsertConversations("pgre", page(1), { seenAt: new Date() });
    expect(await terminateAll()).toBeGreaterThan(0);
    const counts = await store.upsertConversations("pgre", page(2), { seenAt: new Date() });
    expect(counts.inserted).toBe(2);
    expect(await store.countLive("pgre")).toBe(4);
  });

  it("reconnecting that keeps failing ends in one line: DB_CONNECTION_LOST", async () => {
    await store.upsertConversations("pgre", [makeConversation("d1")], { seenAt: new Date() });
    await admin.query(`ALTER DATABASE "${name}" ALLOW_CONNECTIONS false`);
    await terminateAll();
    const started = Date.now();
    const failing = store.upsertConversations("pgre", [makeConversation("d2")], { seenAt: new Date() });
    await expect(failing).rejects.toMatchObject({ code: "DB_CONNECTION_LOST" });
    await failing.catch((e: Error) => expect(e.message).not.toContain("\n"));
    // Bounded: a few retries with backoff, then the failure.
    expect(Date.now() - started).toBeLessThan(15_000);
    await admin.query(`ALTER DATABASE "${name}" ALLOW_CONNECTIONS true`);
    const counts = await store.upsertConversations("pgre", [makeConversation("d2")], { seenAt: new Date() });
    expect(counts.inserted).toBe(1);
  });
});
