// One writer per app: backfill, sync and reconcile of the same app never run at once, in this
// process or another (PostgreSQL: a session advisory lock; SQLite: a lock row with a lease).
import { setMaxListeners } from "node:events";
import os from "node:os";
import { MirrorError } from "../errors.ts";
import type { RunKind, SyncContext } from "./run.ts";

export async function withRunLock<C extends Pick<SyncContext, "store" | "appId" | "logger" | "signal">, T>(
  ctx: C,
  /** A run kind, or a maintenance command that must not interleave with runs. */
  kind: RunKind | "forget" | "purge" | "webhooks",
  body: (locked: C) => Promise<T>,
): Promise<T> {
  const lock = await ctx.store.acquireRunLock(ctx.appId, { kind, pid: process.pid, host: os.hostname() });
  if (!lock) {
    const holder = await ctx.store.describeRunLock(ctx.appId);
    const who = holder
      ? ` (${holder.kind}, pid ${holder.pid} on ${holder.host} since ${holder.acquiredAt.toISOString()})`
      : "";
    throw new MirrorError(
      "RUN_LOCKED",
      `another run is active for app "${ctx.appId}"${who}; ${kind} did not start. Try again when it has finished.`,
    );
  }
  try {
    // Holding the lock proves no other run of this app is alive: close the rows of runs whose
    // process died (kill -9, crash) so status shows them as abandoned, not running forever.
    const abandoned = await ctx.store.closeAbandonedRuns(ctx.appId);
    if (abandoned > 0) ctx.logger.warn({ abandoned }, "earlier runs had stopped without finishing");
    // Counted once per app (a new mirror, or an upgrade), while no other writer of this app can run.
    await ctx.store.ensureTotals(ctx.appId);
    // The body runs with a signal that also fires when the lock is lost: its HTTP stops, the run
    // is recorded aborted, and the error says why.
    const signal = ctx.signal ? AbortSignal.any([ctx.signal, lock.lost]) : lock.lost;
    // Every request in flight (message workers, windows, governor waits) listens on it.
    setMaxListeners(256, signal);
    try {
      return await body({ ...ctx, signal });
    } catch (error) {
      if (lock.lost.aborted) {
        ctx.logger.error({ err: String(lock.lost.reason) }, `${kind} aborted: the run lock was lost`);
        throw lock.lost.reason;
      }
      throw error;
    }
  } finally {
    await lock.release().catch((error: unknown) => {
      ctx.logger.warn({ err: String(error) }, "could not release the run lock (it expires on its own)");
    });
  }
}
