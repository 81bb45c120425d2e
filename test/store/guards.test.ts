// The store's two guards against interleaved writers: an older copy never overwrites a newer one,
// and one run lock per app across processes. Real SQLite file and real PostgreSQL.
import { spawn } from "node:child_process";
import os from "node:os";
import { fileURLToPath } from "node:url";
import { beforeAll, describe, expect, it } from "vitest";
import type { Store } from "../../src/store/store.ts";
import { openStore } from "../../src/store/store.ts";
import { PROVIDERS, useStore } from "../helpers/db.ts";
import { makeConversation, T0 } from "./fixtures.ts";

const root = fileURLToPath(new URL("../../", import.meta.url));
const holder = (kind: string) => ({ kind, pid: process.pid, host: os.hostname() });

/** A child process that takes the lock, prints "locked", and waits to be killed. */
function lockingChild(url: string, appId: string): Promise<{ kill(): Promise<void> }> {
  const code = `const { openStore } = await import("./src/store/store.ts");
    const store = await openStore({ url: ${JSON.stringify(url)} });
    const lock = await store.acquireRunLock(${JSON.stringify(appId)}, { kind: "sync", pid: process.pid, host: (await import("node:os")).hostname() });
    console.log(lock ? "locked" : "refused");
    setInterval(() => {}, 1000);`;
  const child = spawn(process.execPath, ["--import", "tsx", "--input-type=module", "-e", code], {
    cwd: root,
    stdio: ["ignore", "pipe", "inherit"],
  });
  return new Promise((resolve, reject) => {
    child.stdout?.on("data", (chunk: Buffer) => {
      if (String(chunk).includes("locked")) {
        resolve({
          kill: () =>
            new Promise<void>((done) => {
              child.on("close", () => done());
              child.kill("SIGKILL");
            }),
        });
      } else reject(new Error(`child: ${String(chunk)}`));
    });
    child.on("error", reject);
  });
}

describe.each(PROVIDERS)("store guards on %s", (provider) => {
  const fixture = useStore(provider, { poolSize: 3 });
  const { skip } = fixture;
  let store: Store;
  beforeAll(() => {
    if (!skip) store = fixture.store;
  });

  it.skipIf(skip)("an older copy never overwrites a newer one, whatever the commit order", async () => {
    const app = "stale";
    const older = makeConversation("s1", { subject: "old" });
    const newer = makeConversation("s1", { subject: "new" });
    // Newer fetch committed first, older second (two overlapping windows): newer stays.
    await store.upsertConversations(app, [newer], { seenAt: new Date(T0 + 2_000) });
    const counts = await store.upsertConversations(app, [older], { seenAt: new Date(T0 + 1_000) });
    expect(counts).toEqual({ inserted: 0, updated: 0, unchanged: 1 });
    let row = await store.getConversation(app, "s1");
    expect(row?.subject).toBe("new");
    // synced_at never moves backwards.
    expect(row?.syncedAt).toEqual(new Date(T0 + 2_000));
    // A later fetch wins, across a year and millisecond boundary (timestamps compare as times).
    const later = makeConversation("s1", { subject: "later" });
    await store.upsertConversations(app, [later], { seenAt: new Date(Date.UTC(2027, 0, 1, 0, 0, 0, 5)) });
    row = await store.getConversation(app, "s1");
    expect(row?.subject).toBe("later");
  });

  it.skipIf(skip)(
    "a copy fetched before a confirmed deletion does not resurrect it; a later one does",
    async () => {
      const app = "resurrect";
      await store.upsertConversations(app, [makeConversation("r1")], { seenAt: new Date(T0) });
      await store.markDeleted(app, ["r1"], new Date(T0 + 10_000));
      await store.upsertConversations(app, [makeConversation("r1", { subject: "stale page" })], {
        seenAt: new Date(T0 + 5_000),
      });
      expect((await store.getConversation(app, "r1"))?.deletedAt).toEqual(new Date(T0 + 10_000));
      const back = await store.upsertConversations(app, [makeConversation("r1")], {
        seenAt: new Date(T0 + 20_000),
      });
      expect(back.updated).toBe(1);
      expect((await store.getConversation(app, "r1"))?.deletedAt).toBeNull();
    },
  );

  it.skipIf(skip)("countUnseenLive counts the live rows a run did not see", async () => {
    const app = "unseen";
    const run = await store.startRun(app, "reconcile");
    await store.upsertConversations(app, [makeConversation("u1"), makeConversation("u2")], {
      seenAt: new Date(T0),
    });
    await store.upsertConversations(app, [makeConversation("u1")], { seenAt: new Date(T0 + 1), runId: run });
    await store.upsertConversations(app, [makeConversation("u3")], { seenAt: new Date(T0 + 1) });
    await store.markDeleted(app, ["u3"], new Date(T0 + 2));
    expect(await store.countUnseenLive(app, run)).toBe(1);
    expect(await store.listUnseenLive(app, run, 10)).toEqual(["u2"]);
  });

  it.skipIf(skip)("one lock per app: refused while held, free after release, apps independent", async () => {
    const first = await store.acquireRunLock("lock-a", holder("sync"));
    expect(first).not.toBeNull();
    expect(await store.acquireRunLock("lock-a", holder("reconcile"))).toBeNull();
    expect(await store.describeRunLock("lock-a")).toMatchObject({ kind: "sync", pid: process.pid });
    const other = await store.acquireRunLock("lock-b", holder("sync"));
    expect(other).not.toBeNull();
    await first?.release();
    await other?.release();
    const again = await store.acquireRunLock("lock-a", holder("backfill"));
    expect(again).not.toBeNull();
    await again?.release();
  });

  it.skipIf(skip)("a lock held by a process killed with SIGKILL is free for the next run", async () => {
    const child = await lockingChild(fixture.db.url, "lock-kill");
    expect(await store.acquireRunLock("lock-kill", holder("sync"))).toBeNull();
    await child.kill();
    // PostgreSQL frees the advisory lock when the session dies; SQLite sees the holder's pid gone.
    let lock = null;
    for (let i = 0; i < 50 && !lock; i++) {
      lock = await store.acquireRunLock("lock-kill", holder("sync"));
      if (!lock) await new Promise((r) => setTimeout(r, 100));
    }
    expect(lock).not.toBeNull();
    await lock?.release();
  });

  it.skipIf(skip)("closing a store releases the locks it holds", async () => {
    const other = await openStore({ url: fixture.db.url });
    expect(await other.acquireRunLock("lock-close", holder("sync"))).not.toBeNull();
    expect(await store.acquireRunLock("lock-close", holder("sync"))).toBeNull();
    await other.close();
    const lock = await store.acquireRunLock("lock-close", holder("sync"));
    expect(lock).not.toBeNull();
    await lock?.release();
  });
});
