// Opens what a run needs from a validated config: migrations applied, the store, the TalkJS
// client and a redacting logger — and closes them again in the right order. Shared by the one-shot
// commands and the long-running worker, so both run exactly the same code.
import type { DestinationStream, Logger } from "pino";
import type { AppConfig } from "./config/index.ts";
import { ConfigError } from "./errors.ts";
import { createLogger } from "./log.ts";
import { redactDatabaseUrl } from "./store/database-url.ts";
import { migrateDatabase } from "./store/migrate.ts";
import { openStore, type Store } from "./store/store.ts";
import type { SyncContext } from "./sync/run.ts";
import { createTalkJSClient, type TalkJSClient } from "./talkjs/client.ts";

export interface OpenedMirror {
  ctx: SyncContext;
  store: Store;
  client: TalkJSClient;
  logger: Logger;
  close(): Promise<void>;
}

export interface OpenMirrorOptions {
  signal?: AbortSignal;
  /** Where log lines go (default stdout). One-shot commands log to stderr and print results on stdout. */
  logDestination?: DestinationStream | number;
  logger?: Logger;
}

export function loggerFor(config: AppConfig, destination?: DestinationStream | number): Logger {
  return createLogger({
    level: config.log.level,
    pretty: config.log.pretty,
    secrets: config.secrets,
    ...(destination !== undefined ? { destination } : {}),
  });
}

export async function openMirror(config: AppConfig, options: OpenMirrorOptions = {}): Promise<OpenedMirror> {
  if (!config.talkjs) throw new ConfigError("TALKJS_APP_ID", "is required for this command");
  const logger = options.logger ?? loggerFor(config, options.logDestination);
  const applied = await migrateDatabase(config.database, { schemaEngineDebug: config.schemaEngineDebug });
  if (applied.length > 0) {
    logger.info(
      { migrations: applied, database: redactDatabaseUrl(config.database.url) },
      "applied database migrations",
    );
  }
  const store = await openStore(config.database);
  const client = createTalkJSClient({
    ...config.talkjs,
    logger,
    ...(options.signal ? { signal: options.signal } : {}),
  });
  const ctx: SyncContext = {
    client,
    store,
    appId: config.talkjs.appId,
    logger,
    signal: options.signal,
  };
  return {
    ctx,
    store,
    client,
    logger,
    async close() {
      await client.close().catch(() => {});
      await store.close();
    },
  };
}
