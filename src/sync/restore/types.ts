// The restore's public types: what it is asked, the plan it shows (dry run) and what it did.

/** The import endpoint's payload: the documented items, or TalkJS's transfer script's. */
export type ImportShape = "documented" | "script";

export interface RestoreOptions {
  /** The mirrored app restored from (the rows' app_id). */
  sourceAppId: string;
  /** The app restored into. */
  targetAppId: string;
  /** Conversations to restore: ids (null: all, or those since `since`). */
  conversationIds: readonly string[] | null;
  since: Date | null;
  /** Also conversations (and messages) deleted at TalkJS: what a restore into the source is for. */
  includeDeleted: boolean;
  /** Conversations that already have messages in the target are left alone (TalkJS's script). */
  skipExisting: boolean;
  importShape: ImportShape;
  batchSize: number;
  /** The target's pace (requests/s), for the plan's time estimate. */
  targetRatePerSecond: number;
  /** FILES_DIR: where archived files are read from for re-upload (null/undefined: none is). */
  filesDir?: string | null;
  /** Conversations restored at once (default 4; the client's limits still apply). */
  concurrency?: number;
  signal?: AbortSignal;
  onProgress?: (p: RestoreProgress) => void;
}

export interface RestoreProgress {
  conversationsDone: number;
  conversations: number;
  messagesImported: number;
}

/** What a restore would send, and what it cannot restore faithfully. */
export interface RestorePlan {
  sourceAppId: string;
  targetAppId: string;
  users: number;
  conversations: number;
  deletedConversations: number;
  /** User messages to import (before any already in the target are subtracted). */
  messages: number;
  /** Requests needed at most: user batches, conversation and participant PUTs, read-backs, imports. */
  requests: {
    users: number;
    conversations: number;
    participants: number;
    readBacks: number;
    imports: number;
    uploads: number;
  };
  /** Minimum time at the target's rate limit, seconds. */
  estimatedSeconds: number;
  /** Files to re-upload: distinct archived files (by sha256) not in the target yet, their bytes. */
  files: {
    toUpload: number;
    bytes: number;
    /** Uploaded by an earlier run (token in the ledger): reused. */
    alreadyUploaded: number;
  };
  /** Already in the ledger as applied (a rerun): not sent again. */
  alreadyApplied: { users: number; conversations: number; messages: number };
  notRestorable: NotRestorable;
}

/** What a restore cannot carry, counted where countable. */
export interface NotRestorable {
  /** System messages: the import endpoint refuses them. */
  systemMessages: number;
  /** Messages with an attachment or file blocks (their archived files are re-uploaded). */
  messagesWithFiles: number;
  /** File references not archived (failed, gone, too large, MIRROR_FILES off): restored as text. */
  filesNotArchived: number;
  /** Documented shape: archived files beyond a message's first (one attachmentToken per message). */
  filesNotCarried: number;
  /** Messages that reply to another: referencedMessageId is not carried (new ids). */
  replies: number;
  /** Edited messages: the restored copy has the last text, but no editedAt. */
  edited: number;
  /** Fields that never survive: new message ids, editedAt, origin ("import"), reactions, createdAt of conversations and users. */
  fields: readonly string[];
}

export const NOT_RESTORABLE_FIELDS = [
  "message id (new ids are assigned)",
  "message editedAt",
  "message origin (becomes import)",
  "message referencedMessageId",
  "reactions",
  "system messages",
  "files the mirror did not archive (the message comes back as its text)",
  "file URLs (re-uploaded files get new ones; compared by filename and size)",
  "conversation createdAt (set when the target conversation is created)",
  "user createdAt",
  "participants' read position beyond readBy",
] as const;

export interface RestoreSummary {
  plan: RestorePlan;
  usersPut: number;
  conversationsPut: number;
  participantsPut: number;
  messagesImported: number;
  /** Messages found already in the target by the multiset match (not sent). */
  messagesMatched: number;
  /** Conversations with messages in the target left alone (--skip-existing). */
  conversationsSkipped: number;
  /** Outcomes that were unknown (timeout, reset) and settled by reading the target back. */
  unknownOutcomes: number;
  importRequests: number;
  readBacks: number;
  filesUploaded: number;
  filesUploadedBytes: number;
  /** File tokens reused (uploaded earlier in this run or by an earlier run): not uploaded again. */
  filesReused: number;
  /** File references restored without their file (not archived, or the archived copy unreadable). */
  filesNotArchived: number;
}
