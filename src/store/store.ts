// The database behind talkjs-mirror: one provider-agnostic Store over SQLite or PostgreSQL, a thin
// facade over its parts — ./conversations.ts, ./messages.ts, ./runs.ts (runs and sync state),
// ./locks.ts (the run lock) — opened by ./open.ts. The statements they run are in ./sql/.

import { ConversationStore } from "./conversations.ts";
import type { DatabaseConfig } from "./database-url.ts";
import { FileStore } from "./files.ts";
import { RunLocks } from "./locks.ts";
import { MessageStore } from "./messages.ts";
import { type Db, type OpenMode, type OpenStoreConfig, openDatabase } from "./open.ts";
import { PrivacyStore } from "./privacy.ts";
import { RestoreStore } from "./restore.ts";
import { RunStore } from "./runs.ts";
import { TotalsStore } from "./totals.ts";
import type { Store } from "./types.ts";
import { UserStore } from "./users.ts";
import { WebhookWorkStore } from "./webhook-work.ts";

export type { DueFile, FileOutcome, FileStats, FileStatus, StoredFileRef } from "./files.ts";
export { FILE_STATUSES } from "./files.ts";
export type { OpenMode, OpenStoreConfig } from "./open.ts";
export type * from "./types.ts";

export async function openStore(
  config: OpenStoreConfig | DatabaseConfig,
  mode: OpenMode = {},
): Promise<Store> {
  return storeOver(await openDatabase(config, mode));
}

function storeOver(db: Db): Store {
  const conversations = new ConversationStore(db);
  const runs = new RunStore(db);
  const locks = new RunLocks(db);
  const files = new FileStore(db);
  const totals = new TotalsStore(db);
  return {
    provider: db.provider,
    messages: new MessageStore(db, files),
    files,
    webhookWork: new WebhookWorkStore(db),
    users: new UserStore(db),
    privacy: new PrivacyStore(db),
    restore: new RestoreStore(db),
    upsertConversations: (appId, list, opts) => conversations.upsert(appId, list, opts),
    getConversation: (appId, id) => conversations.get(appId, id),
    countLive: (appId) => conversations.countLive(appId),
    listUnseenLive: (appId, runId, limit, afterId) =>
      conversations.listUnseenLive(appId, runId, limit, afterId),
    countUnseenLive: (appId, runId) => conversations.countUnseenLive(appId, runId),
    markDeleted: (appId, ids, at) => conversations.markDeleted(appId, ids, at),
    stats: (appId) => conversations.stats(appId),
    ensureTotals: (appId) => totals.ensure(appId),
    readTotals: (appId) => totals.read(appId),
    analyzeConversations: () => conversations.analyze(),
    getSyncState: (appId, stream) => runs.getSyncState(appId, stream),
    saveSyncState: (appId, stream, state) => runs.saveSyncState(appId, stream, state),
    recordSyncError: (appId, stream, error, at) => runs.recordSyncError(appId, stream, error, at),
    startRun: (appId, kind, startedAt, targetAppId) => runs.startRun(appId, kind, startedAt, targetAppId),
    finishRun: (id, result) => runs.finishRun(id, result),
    lastRuns: (appId, limit) => runs.lastRuns(appId, limit),
    lastRunOfKind: (appId, kind) => runs.lastRunOfKind(appId, kind),
    pruneRuns: (appId, before) => runs.pruneRuns(appId, before),
    closeAbandonedRuns: (appId, at) => runs.closeAbandonedRuns(appId, at),
    closeAbandonedRestores: (appId, targetAppId, at) => runs.closeAbandonedRestores(appId, targetAppId, at),
    acquireRunLock: (appId, holder) => locks.acquire(appId, holder),
    describeRunLock: (appId) => locks.describe(appId),
    queryRaw: (query) => db.client.$queryRaw<Record<string, unknown>[]>(query),
    close: async () => {
      await locks.releaseAll();
      await db.client.$disconnect();
    },
  };
}
