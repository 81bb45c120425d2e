// `restore --verify` (and the demo's round trip): the target mirrored into a scratch SQLite
// database, removed afterwards, and compared with the source mirror (sync/restore/verify.ts).
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import type { Logger } from "pino";
import { parseDatabaseUrl } from "../store/database-url.ts";
import { migrateDatabase } from "../store/migrate.ts";
import { openStore, type Store } from "../store/store.ts";
import type { SyncSettings } from "../sync/jobs.ts";
import type { RestoreOptions } from "../sync/restore/types.ts";
import { verifyRestore } from "../sync/restore/verify.ts";
import type { TalkJSClient } from "../talkjs/client.ts";

/** The differences (ids and field names) between the source mirror and the restored target. */
export async function verifyIntoScratch(
  source: Store,
  target: TalkJSClient,
  options: RestoreOptions,
  settings: SyncSettings,
  logger: Logger,
): Promise<string[]> {
  const dir = await mkdtemp(path.join(tmpdir(), "talkjs-mirror-verify-"));
  try {
    const url = `file:${path.join(dir, "target.db")}`;
    await migrateDatabase(parseDatabaseUrl(url));
    const scratch = await openStore({ url });
    try {
      return await verifyRestore(source, scratch, target, options, settings, logger);
    } finally {
      await scratch.close();
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
