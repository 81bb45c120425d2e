// One writer per app: backfill, sync and reconcile of the same app never run at once, in this
// process or another (PostgreSQL: a session advisory lock; SQLite: a lock row with a lease).
import os from "node:os";
import { MirrorError } from "../errors.ts";
import type { RunKind, SyncContext } from "./run.ts";

export async function withRunLock<T>(
  ctx: Pick<SyncContext, "store" | "appId" | "logger">,
  /** A run kind, or a maintenance command that must not interleave with runs. */
  kind: RunKind | "forget" | "purge",
  body: () => Promise<T>,
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
    return await body();
  } finally {
    await lock.release().catch((error: unknown) => {
      ctx.logger.warn({ err: String(error) }, "could not release the run lock (it expires on its own)");
    });
  }
}
