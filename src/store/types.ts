// The store's public types: the Store every caller uses, and the rows and options it speaks in.
import type { RunCounts } from "../counts.ts";
import type { Conversation } from "../talkjs/types.ts";
import type { DatabaseProvider } from "./database-url.ts";
import type { FileStore } from "./files.ts";
import type { MessageStore } from "./messages.ts";
import type { PrivacyStore } from "./privacy.ts";
import type { RestoreStore } from "./restore.ts";
import type { Sql } from "./sql/shared.ts";
import type { UserStore } from "./users.ts";
import type { WebhookWorkStore } from "./webhook-work.ts";

/** "abandoned": the process died mid-run (closed by the next run that holds the lock). */
export type RunStatus = "running" | "succeeded" | "failed" | "aborted" | "abandoned";

export interface UpsertCounts {
  inserted: number;
  updated: number;
  unchanged: number;
}

export interface Checkpoint {
  stream: string;
  /** Opaque to the store (the sync engine's serialized cursor), or null to clear it. */
  cursor: string | null;
  watermark?: Date | null;
}

export interface UpsertOptions {
  /** When the page was fetched: first_seen_at/synced_at/updated_at use it. */
  seenAt: Date;
  /** The reconcile run that saw these rows (mark-and-sweep marker). */
  runId?: number;
  /** Written in the SAME transaction as the page (and marked a success at seenAt). */
  checkpoint?: Checkpoint;
  /** The recorded run this page is counted in: its sync_runs counters advance in the page's transaction. */
  countInRun?: { runId: number; pages: number };
}

export interface SyncStateRow {
  appId: string;
  stream: string;
  cursor: string | null;
  watermark: Date | null;
  lastSuccessAt: Date | null;
  lastError: string | null;
  lastErrorAt: Date | null;
  updatedAt: Date;
}

/** How a run ended, for finishRun. */
export interface RunResult {
  status: Exclude<RunStatus, "running">;
  counts?: Partial<RunCounts>;
  error?: string | null;
  finishedAt?: Date;
  /** What TalkJS's rate limit cost the run (the client's stats over the run); none for a job without a client. */
  throttle?: RunThrottle;
}

/** 429s a run met, the time it was held by them, and the rate (requests/s) it ended at. */
export interface RunThrottle {
  rateLimited: number;
  pausedMs: number;
  endRate: number | null;
}

/** A stream's new cursor; a watermark and a success time when the pass got that far. */
export interface SyncStateUpdate {
  cursor: string | null;
  watermark?: Date | null;
  lastSuccessAt?: Date;
}

export interface SyncRunRow extends RunCounts, RunThrottle {
  id: number;
  appId: string;
  kind: string;
  startedAt: Date;
  finishedAt: Date | null;
  status: RunStatus;
  error: string | null;
  /** `restore` runs: the app restored into (null for every other kind). */
  targetAppId: string | null;
}

export interface StoredParticipant {
  userId: string;
  access: string;
  notify: boolean;
}

/** What every mirrored row has: the API object as returned, and when the mirror saw it. */
export interface MirroredRow {
  /** The object exactly as the API returned it. */
  raw: unknown;
  /** sha256 of its canonical JSON: an unchanged copy is not written again. */
  contentHash: string;
  firstSeenAt: Date;
  syncedAt: Date;
  /** When the content last changed in the mirror. */
  updatedAt: Date;
  /** When a deletion at TalkJS was confirmed; null while it exists. */
  deletedAt: Date | null;
}

export interface StoredConversation extends MirroredRow {
  appId: string;
  id: string;
  subject: string | null;
  photoUrl: string | null;
  topicId: string | null;
  welcomeMessages: unknown;
  custom: unknown;
  lastMessage: unknown;
  lastMessageAt: Date | null;
  lastMessageId: string | null;
  lastMessageSenderId: string | null;
  createdAt: Date;
  lastActivityAt: Date;
  participantCount: number;
  seenRunId: number | null;
  participants: StoredParticipant[];
}

export interface RunLockHolder {
  kind: string;
  pid: number;
  host: string;
}

export interface RunLockInfo extends RunLockHolder {
  acquiredAt: Date;
}

export interface RunLock {
  readonly appId: string;
  readonly holder: RunLockHolder;
  /**
   * Aborted (reason: a LOCK_LOST MirrorError) when the lock is lost while held — PostgreSQL: the
   * lock's session died, so another process may take the lock and write at the same time.
   */
  readonly lost: AbortSignal;
  release(): Promise<void>;
}

/** A conversation whose messages need fetching, with how far they are already mirrored. */
export interface MessageWork {
  conversationId: string;
  /** The conversation's current lastMessage id (what the state records once done); null when it has none left. */
  lastMessageId: string | null;
  /** createdAt of the newest message mirrored for it; null when none is. */
  newestKnownAt: Date | null;
}

/** A live mirrored message as a deep re-read weighs it. */
export interface LiveMessageRow {
  id: string;
  createdAt: Date;
  /** When a deep re-read first did not return it (older than anything returned); null otherwise. */
  missingSince: Date | null;
}

export interface StoredMessage extends MirroredRow {
  appId: string;
  id: string;
  conversationId: string;
  senderId: string | null;
  type: string;
  text: string | null;
  createdAt: Date;
  editedAt: Date | null;
}

/** A users row: the user as the API answered it (`raw`, never with push tokens) and its columns. */
export interface StoredUser extends MirroredRow {
  appId: string;
  id: string;
  name: string | null;
  email: unknown;
  phone: unknown;
  role: string | null;
  locale: string | null;
  createdAt: Date | null;
  custom: unknown;
  seenRunId: number | null;
}

export interface MessageStats {
  live: number;
  deleted: number;
}

/** An app's mirror size as maintained by the writes (mirror_totals), and its newest live activity. */
export interface MirrorTotals {
  conversationsLive: number;
  conversationsDeleted: number;
  messagesLive: number;
  messagesDeleted: number;
  newestActivityAt: Date | null;
}

export interface StoreStats {
  live: number;
  deleted: number;
  participants: number;
  newestActivityAt: Date | null;
  lastSyncedAt: Date | null;
}

export interface Store {
  readonly provider: DatabaseProvider;
  /** The message mirror's tables (messages, message_sync_state). */
  readonly messages: MessageStore;
  /** The users mirror (users). */
  readonly users: UserStore;
  /** Erasures (`forget`) and `purge`. */
  readonly privacy: PrivacyStore;
  /** The archived files' tables (message_files, file_blobs). */
  readonly files: FileStore;
  /** The webhook kinds of the work queue (src/sync/webhooks). */
  readonly webhookWork: WebhookWorkStore;
  /** restore_ledger and the mirror reads `restore` sends from. */
  readonly restore: RestoreStore;
  upsertConversations(
    appId: string,
    conversations: Conversation[],
    opts: UpsertOptions,
  ): Promise<UpsertCounts>;
  getConversation(appId: string, id: string): Promise<StoredConversation | null>;
  countLive(appId: string): Promise<number>;
  /** Live rows not seen by `runId`, ordered by id, keyset-paged by `afterId`: deletion candidates. */
  listUnseenLive(appId: string, runId: number, limit: number, afterId?: string): Promise<string[]>;
  /** How many live rows `runId` has not seen (reconcile refuses a mass deletion before any GET). */
  countUnseenLive(appId: string, runId: number): Promise<number>;
  /** Sets deleted_at on live rows among `ids`; returns how many changed. */
  markDeleted(appId: string, ids: string[], at: Date): Promise<number>;
  getSyncState(appId: string, stream: string): Promise<SyncStateRow | null>;
  saveSyncState(appId: string, stream: string, state: SyncStateUpdate): Promise<void>;
  recordSyncError(appId: string, stream: string, error: string, at?: Date): Promise<void>;
  startRun(appId: string, kind: string, startedAt?: Date, targetAppId?: string): Promise<number>;
  finishRun(id: number, result: RunResult): Promise<void>;
  lastRuns(appId: string, limit?: number): Promise<SyncRunRow[]>;
  /** The latest run of one kind (status reads each kind directly: other kinds' runs cannot hide it). */
  lastRunOfKind(appId: string, kind: string): Promise<SyncRunRow | null>;
  /** Retention: deletes finished runs started before `before`, never a kind's latest; returns how many. */
  pruneRuns(appId: string, before: Date): Promise<number>;
  /** Marks runs still "running" as "abandoned"; only call while holding the run lock. */
  closeAbandonedRuns(appId: string, at?: Date): Promise<number>;
  closeAbandonedRestores(appId: string, targetAppId: string, at?: Date): Promise<number>;
  /**
   * Takes the app's run lock (one writer per app across processes and hosts), or returns null at
   * once when someone else holds it. See ./locks.ts.
   */
  acquireRunLock(appId: string, holder: RunLockHolder): Promise<RunLock | null>;
  /** Who holds the app's run lock, if anyone (for the "another run is active" message). */
  describeRunLock(appId: string): Promise<RunLockInfo | null>;
  stats(appId: string): Promise<StoreStats>;
  /** Counts the app's totals once (no row yet); only while holding the app's run lock. */
  ensureTotals(appId: string): Promise<void>;
  /** The maintained totals (O(1), for /metrics); null until a run has counted them. */
  readTotals(appId: string): Promise<MirrorTotals | null>;
  /**
   * PostgreSQL: refreshes the planner statistics of the conversation tables (a bulk load into
   * empty tables otherwise keeps plans made for empty tables). SQLite: nothing to do.
   */
  analyzeConversations(): Promise<void>;
  /**
   * Runs one statement built with the `sql` tag (values bound as parameters, never spliced into
   * the text); the named statements live in ./sql/. Results as the driver returns them.
   */
  queryRaw(query: Sql): Promise<Record<string, unknown>[]>;
  close(): Promise<void>;
}
