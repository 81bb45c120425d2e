// The demo's restore round trip: the demo app's mirror put back into the empty app "demo-copy" of
// the same simulator (`restore --yes`), demo-copy mirrored into a
// scratch database, and the two compared modulo what cannot survive a restore (`restore --verify`).

import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import type { Logger } from "pino";
import type { AppConfig } from "./config/index.ts";
import { MirrorError } from "./errors.ts";
import { parseDatabaseUrl } from "./store/database-url.ts";
import { migrateDatabase } from "./store/migrate.ts";
import { openStore, type Store } from "./store/store.ts";
import { runRestore } from "./sync/restore/engine.ts";
import { verifyRestore } from "./sync/restore/verify.ts";
import { createTalkJSClient } from "./talkjs/client.ts";
import { count, duration } from "./units.ts";

export const DEMO_TARGET_APP = "demo-copy";

export async function demoRestore(
  store: Store,
  sourceAppId: string,
  config: AppConfig,
  logger: Logger,
  out: (line: string) => void,
): Promise<void> {
  const talkjs = config.talkjs as NonNullable<AppConfig["talkjs"]>;
  const started = Date.now();
  const target = createTalkJSClient({
    ...talkjs,
    appId: DEMO_TARGET_APP,
    secretKey: `sk_test_${DEMO_TARGET_APP}`,
    logger,
  });
  try {
    const options = {
      sourceAppId,
      targetAppId: DEMO_TARGET_APP,
      conversationIds: null,
      since: null,
      includeDeleted: false,
      skipExisting: false,
      importShape: "documented" as const,
      batchSize: 10,
      targetRatePerSecond: talkjs.rateLimit?.perSecond ?? 8,
    };
    const summary = await runRestore(store, target, options);
    const restoredMs = Date.now() - started;
    // `restore --verify`: the target mirrored into a scratch database (the demo's file stays one app).
    const dir = await mkdtemp(path.join(tmpdir(), "talkjs-mirror-demo-restore-"));
    let differences: string[];
    try {
      const url = `file:${path.join(dir, "target.db")}`;
      await migrateDatabase(parseDatabaseUrl(url));
      const scratch = await openStore({ url });
      try {
        differences = await verifyRestore(store, scratch, target, options, config.sync, logger);
      } finally {
        await scratch.close();
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
    out(
      `restore    restored ${count(summary.conversationsPut)} conversations and ${count(summary.messagesImported)} user messages ` +
        `into app ${DEMO_TARGET_APP} in ${summary.importRequests} imports (${duration(restoredMs, "exact")}); ` +
        `round trip: ${differences.length} differences beyond the documented list; ` +
        `${count(summary.plan.notRestorable.systemMessages)} system messages not restorable`,
    );
    if (differences.length > 0)
      throw new MirrorError(
        "DEMO_VERIFY_FAILED",
        `the restored app differs from the mirror in ${differences.length} places, e.g. ${differences.slice(0, 3).join("; ")}`,
      );
  } finally {
    await target.close();
  }
}
