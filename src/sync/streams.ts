// Names of the sync_state streams, one row per app and stream.

/** The backfill pass: its cursor while a pass is under way; its watermark = start of the last complete pass. */
export const BACKFILL_STREAM = "backfill";
/** Incremental pass (a): conversations created since the watermark (catches ones without messages). */
export const CREATED_STREAM = "created";
/** Incremental pass (b): conversations whose last message is newer than the watermark. */
export const ACTIVITY_STREAM = "activity";
/** The reconcile pass: last success / last error. */
export const RECONCILE_STREAM = "reconcile";

/** The message mirror: last success / last error (per-conversation progress is message_sync_state). */
export const MESSAGES_STREAM = "messages";

/**
 * The message endpoint's proven page size (cursor: JSON `{ pageSize, provenAt, cleanAt }`): a
 * short page of at most that size may end a history. Not a sync stream: not in STREAMS.
 */
export const MESSAGE_PAGE_PROOF_STREAM = "message-page-proof";
/** The users mirror: the cursor of an interrupted listing (last id committed); watermark = start of the last complete listing. */
export const USERS_STREAM = "users";
/** The files job: last success / last error (per-file progress is message_files). */
export const FILES_STREAM = "files";
/** The files job's one-time scan of messages mirrored before files were archived: cursor, then done. */
export const FILES_HISTORY_STREAM = "files_history";

export const STREAMS = [
  BACKFILL_STREAM,
  CREATED_STREAM,
  ACTIVITY_STREAM,
  RECONCILE_STREAM,
  MESSAGES_STREAM,
] as const;
