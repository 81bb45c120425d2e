// The users table on both databases: the shared batch upsert (insert, unchanged skip, newer copy
// wins, checkpoint in the same transaction), the unknown-id lookup and the soft delete.
import { beforeAll, describe, expect, it } from "vitest";
import { contentHash } from "../../src/store/hash.ts";
import type { Store } from "../../src/store/store.ts";
import type { MirroredUser } from "../../src/talkjs/types.ts";
import { PROVIDERS, useStore } from "../helpers/db.ts";
import { T0 } from "./fixtures.ts";

const APP = "app_users";

function user(id: string, over: Partial<MirroredUser> = {}): MirroredUser {
  return {
    id,
    name: `Name ${id} ü`,
    welcomeMessage: null,
    photoUrl: null,
    headerPhotoUrl: null,
    role: "default",
    email: [`${id}@example.com`, `${id}@work.example.org`],
    phone: null,
    custom: { plan: "pro" },
    availabilityText: null,
    locale: "nl-NL",
    createdAt: T0,
    ...over,
  };
}

describe.each(PROVIDERS)("users store on %s", (provider) => {
  const fixture = useStore(provider, { poolSize: 3 });
  const { skip } = fixture;
  let store: Store;
  beforeAll(() => {
    if (!skip) store = fixture.store;
  });

  it.skipIf(skip)(
    "upserts users with typed columns, skips unchanged ones, keeps the newer copy",
    async () => {
      const seen1 = new Date(T0 + 1_000);
      const page = [user("u1"), user("u2", { email: null, createdAt: T0 + 5 }), user("日本")];
      const counts = await store.users.upsert(APP, page, {
        seenAt: seen1,
        checkpoint: { stream: "users", cursor: "日本" },
      });
      expect(counts).toEqual({ inserted: 3, updated: 0, unchanged: 0 });
      expect((await store.getSyncState(APP, "users"))?.cursor).toBe("日本");
      const row = await store.users.get(APP, "u1");
      expect(row).toMatchObject({
        name: "Name u1 ü",
        email: ["u1@example.com", "u1@work.example.org"],
        phone: null,
        role: "default",
        locale: "nl-NL",
        createdAt: new Date(T0),
        custom: { plan: "pro" },
        contentHash: contentHash(page[0]),
        firstSeenAt: seen1,
        deletedAt: null,
      });
      expect(row?.raw).toEqual(page[0]);
      expect((await store.users.get(APP, "u2"))?.email).toBeNull();

      const seen2 = new Date(T0 + 2_000);
      const edited = user("u1", { name: "[DELETED]", email: null, custom: {} });
      expect(
        await store.users.upsert(APP, [edited, user("u2", { email: null, createdAt: T0 + 5 })], {
          seenAt: seen2,
        }),
      ).toEqual({
        inserted: 0,
        updated: 1,
        unchanged: 1,
      });
      expect(await store.users.get(APP, "u1")).toMatchObject({
        name: "[DELETED]",
        email: null,
        updatedAt: seen2,
      });
      // an older copy never overwrites a newer one
      await store.users.upsert(APP, [user("u1")], { seenAt: seen1 });
      expect((await store.users.get(APP, "u1"))?.name).toBe("[DELETED]");
    },
  );

  it.skipIf(skip)("answers which ids have no row, and soft-deletes", async () => {
    await store.users.upsert(APP, [user("k1"), user("k2")], { seenAt: new Date(T0) });
    expect(await store.users.unknownIds(APP, ["k1", "k2", "new1", "new1", "new2"])).toEqual(["new1", "new2"]);
    expect(await store.users.unknownIds("another_app", ["k1"])).toEqual(["k1"]);
    const live = await store.users.countLive(APP);
    expect(await store.users.markDeleted(APP, ["k2"], new Date(T0 + 10_000))).toBe(1);
    expect(await store.users.countLive(APP)).toBe(live - 1);
    expect(await store.users.unknownIds(APP, ["k2"])).toEqual([]); // a deleted row is known
    expect(await store.users.stats(APP)).toMatchObject({ deleted: 1 });
  });
});
