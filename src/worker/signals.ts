// Process wiring for `talkjs-mirror run`: start the worker, then wait for SIGTERM/SIGINT. The
// first signal stops it gracefully (within SHUTDOWN_GRACE_MS, under Docker's 30 s before
// SIGKILL); a second one exits at once.
import type { AppConfig } from "../config/index.ts";
import type { WorkerSettings } from "../config/worker.ts";
import { loggerFor } from "../mirror.ts";
import { startWorker } from "./worker.ts";

/** Resolves `true` after a clean graceful stop, `false` when the grace period ran out. */
export async function runWorkerUntilSignalled(config: AppConfig, settings: WorkerSettings): Promise<boolean> {
  // Container logs: JSON lines on stdout.
  const logger = loggerFor(config, 1);
  const worker = await startWorker(config, settings, { logger });
  return new Promise<boolean>((resolve, reject) => {
    let signalled = false;
    const onSignal = (name: NodeJS.Signals): void => {
      if (signalled) {
        logger.warn({ signal: name }, "second signal: exiting now");
        logger.flush();
        process.exit(130);
      }
      signalled = true;
      logger.info(
        { signal: name, graceMs: settings.shutdownGraceMs },
        "signal received: stopping gracefully",
      );
      worker.stop(`${name} received`).then((clean) => {
        process.off("SIGINT", onSignal);
        process.off("SIGTERM", onSignal);
        resolve(clean);
      }, reject);
    };
    process.on("SIGINT", onSignal);
    process.on("SIGTERM", onSignal);
  });
}
