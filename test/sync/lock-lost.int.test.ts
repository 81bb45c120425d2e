// Losing the run lock aborts the run (issue 15 item 3): when the PostgreSQL session holding the
// app's advisory lock dies, another process may take the lock, so the run must stop writing —
// recorded `aborted` with LOCK_LOST, reported to onRunFinished (the worker's metrics).
import { describe, expect, it } from "vitest";
import type { SyncSettings } from "../../src/config/index.ts";
import { MirrorError } from "../../src/errors.ts";
import { advisoryKey } from "../../src/store/locks.ts";
import { sql } from "../../src/store/sql/shared.ts";
import { runMirrorJob } from "../../src/sync/jobs.ts";
import type { RunOutcome } from "../../src/sync/run.ts";
import { useStore } from "../helpers/db.ts";
import { SKEW_MS, useHarnesses } from "./harness.ts";

const SETTINGS: SyncSettings = {
  clockSkewMs: SKEW_MS,
  maxDeleteShare: 0.1,
  mirrorMessages: false,
  messageConcurrency: 2,
  backfillConcurrency: 1,
};

describe("lost run lock on postgresql", () => {
  const fixture = useStore("postgresql");
  const open = useHarnesses(fixture);

  it.skipIf(fixture.skip)(
    "pg_terminate_backend on the lock's session aborts the run with LOCK_LOST",
    async () => {
      const store = fixture.store;
      const h = await open("exclusive", { conversations: 600, burst: 0, sim: { latencyMs: 10 } });
      const outcomes: RunOutcome[] = [];
      h.ctx.onRunFinished = (o) => outcomes.push(o);
      let pages = 0;
      h.ctx.onProgress = (p) => {
        pages = p.pages;
      };
      // The advisory lock's key as pg_locks shows it: the high and low 32 bits of the bigint.
      const key = BigInt(advisoryKey(h.appId));
      const classid = Number((key >> 32n) & 0xffffffffn);
      const objid = Number(key & 0xffffffffn);

      const run = runMirrorJob(h.ctx, "backfill", { settings: SETTINGS });
      const settled = run.then(
        () => null,
        (e: unknown) => e,
      );
      while (pages < 3) await new Promise((r) => setTimeout(r, 5));
      const [holder] = await store.queryRaw(
        sql`SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted
        AND classid = ${classid}::oid AND objid = ${objid}::oid AND objsubid = 1`,
      );
      expect(holder?.pid).toBeDefined();
      await store.queryRaw(sql`SELECT pg_terminate_backend(${Number(holder?.pid)}::int) AS done`);

      const error = await settled;
      expect(error).toBeInstanceOf(MirrorError);
      expect((error as MirrorError).code).toBe("LOCK_LOST");
      const [row] = await store.lastRuns(h.appId, 1);
      expect(row).toMatchObject({ kind: "backfill", status: "aborted" });
      expect(row?.error).toMatch(/LOCK_LOST/);
      expect(row?.inserted).toBeLessThan(600);
      expect(outcomes.at(-1)).toMatchObject({ kind: "backfill", status: "aborted", errorCode: "LOCK_LOST" });

      // The lock is free: the next run takes it and finishes the backfill.
      h.ctx.onProgress = undefined;
      const next = await runMirrorJob(h.ctx, "backfill", { settings: SETTINGS });
      expect(next.kind).toBe("backfill");
      expect((await store.stats(h.appId)).live).toBe(600);
    },
  );
});
