// `restore`: puts a mirror back into a TalkJS app, exactly once. Order: users (batch PUT,
// all-or-nothing, idempotent), then each conversation (PUT, merges; participants' access/notify
// by the participant endpoint), then its messages through the import endpoint, which is NOT
// idempotent. Exactly-once for messages rests on restore_ledger:
//  - before each import request its messages are written `pending`, after TalkJS accepted it
//    `applied` (a message applied is never sent again);
//  - before sending anything into a conversation the target's messages are read back and matched
//    message by message on (sender, timestamp, text hash), counting repeats (./match.ts): what a
//    pending batch (kill -9, timeout, reset) or an earlier restore by other means already put
//    there is claimed, only the rest is sent;
//  - an import whose outcome is unknown (timeout, reset, 5xx, garbled answer) is never resent
//    blindly: the conversation is read back and matched again first.

import { hostname } from "node:os";
import { MirrorError } from "../../errors.ts";
import { contentHash } from "../../store/hash.ts";
import type { LedgerEntry, LedgerRow, SourceConversation } from "../../store/restore.ts";
import type { Store } from "../../store/store.ts";
import type { TalkJSClient } from "../../talkjs/client.ts";
import { isRetryable, TalkJSApiError } from "../../talkjs/errors.ts";
import type { Message, MirroredUser, UserUpdate } from "../../talkjs/types.ts";
import { mapLimited } from "../limit.ts";
import { archived, RestoreFiles, uploadKey } from "./files.ts";
import { MessageBag, matchMissing, messageKey } from "./match.ts";
import { importItem } from "./payload.ts";
import {
  NOT_RESTORABLE_FIELDS,
  type RestoreOptions,
  type RestorePlan,
  type RestoreSummary,
} from "./types.ts";

/** Users one batch PUT carries (the endpoint's limit). */
const USER_BATCH = 100;
/** Page size of the read-back (the messages listing's maximum). */
const READ_BACK_PAGE = 100;
/** Read-back rounds for one conversation before a restore gives up on unknown outcomes. */
const MAX_ROUNDS = 6;

const DEFAULT_PARTICIPANT = { access: "ReadWrite", notify: true } as const;

/** A message the import endpoint can carry: a user message with a sender. */
export const importable = (m: Message): boolean => m.type === "UserMessage" && !!m.senderId;

/** A ledger row of this restore (source and target apps filled in; `pending` unless `extra` says). */
type Ledger = (
  kind: "user" | "conversation" | "message",
  sourceId: string,
  extra: Partial<LedgerEntry>,
) => LedgerRow;

interface Source {
  users: MirroredUser[];
  conversations: SourceConversation[];
}

async function loadSource(store: Store, o: RestoreOptions): Promise<Source> {
  const conversations = await store.restore.conversations(o.sourceAppId, {
    ids: o.conversationIds,
    since: o.since,
    includeDeleted: o.includeDeleted || o.conversationIds !== null,
  });
  return { users: await store.restore.users(o.sourceAppId, o.includeDeleted), conversations };
}

/** The source ids of the ledger entries TalkJS accepted. */
const appliedIds = (entries: readonly LedgerEntry[]): Set<string> =>
  new Set(entries.filter((e) => e.status === "applied").map((e) => e.sourceId));

/** The plan: counts, requests, time at the target's rate, and what cannot be restored. Reads only the database. */
export async function planRestore(store: Store, o: RestoreOptions): Promise<RestorePlan> {
  return planOf(store, o, await loadSource(store, o));
}

async function planOf(store: Store, o: RestoreOptions, source: Source): Promise<RestorePlan> {
  const usersDone = appliedIds(await store.restore.ofKind(o.targetAppId, o.sourceAppId, "user"));
  const convsDone = appliedIds(await store.restore.ofKind(o.targetAppId, o.sourceAppId, "conversation"));
  const filesDone = appliedIds(await store.restore.ofKind(o.targetAppId, o.sourceAppId, "file"));
  const filesSeen = new Set<string>();
  const plan: RestorePlan = {
    sourceAppId: o.sourceAppId,
    targetAppId: o.targetAppId,
    users: source.users.length,
    conversations: source.conversations.length,
    deletedConversations: source.conversations.filter((c) => c.deletedAt !== null).length,
    messages: 0,
    requests: { users: 0, conversations: 0, participants: 0, readBacks: 0, imports: 0, uploads: 0 },
    estimatedSeconds: 0,
    files: { toUpload: 0, bytes: 0, alreadyUploaded: 0 },
    alreadyApplied: { users: 0, conversations: 0, messages: 0 },
    notRestorable: {
      systemMessages: 0,
      messagesWithFiles: 0,
      filesNotArchived: 0,
      filesNotCarried: 0,
      replies: 0,
      edited: 0,
      fields: NOT_RESTORABLE_FIELDS,
    },
  };
  const usersToPut = source.users.filter((u) => !usersDone.has(u.id)).length;
  plan.alreadyApplied.users = source.users.length - usersToPut;
  plan.requests.users = Math.ceil(usersToPut / USER_BATCH);
  for (const c of source.conversations) {
    const id = c.conversation.id;
    if (convsDone.has(id)) plan.alreadyApplied.conversations++;
    else {
      plan.requests.conversations++;
      plan.requests.participants += Object.values(c.participants).filter(
        (p) => p.access !== DEFAULT_PARTICIPANT.access || p.notify !== DEFAULT_PARTICIPANT.notify,
      ).length;
    }
    const messages = await store.restore.messages(o.sourceAppId, id, o.includeDeleted);
    const applied = appliedIds(await store.restore.ofConversation(o.targetAppId, o.sourceAppId, id));
    const files = await store.restore.files(
      o.sourceAppId,
      messages.filter(importable).map((m) => m.id),
    );
    let todo = 0;
    for (const m of messages) {
      if (!importable(m)) {
        plan.notRestorable.systemMessages++;
        continue;
      }
      plan.messages++;
      if (m.attachment || (m.content ?? []).some((b) => (b as { type?: unknown } | null)?.type === "file"))
        plan.notRestorable.messagesWithFiles++;
      if (m.referencedMessageId) plan.notRestorable.replies++;
      if (m.editedAt) plan.notRestorable.edited++;
      const refs = files.get(m.id) ?? [];
      const carried = refs.filter((f) => archived(f, o.filesDir));
      plan.notRestorable.filesNotArchived += refs.length - carried.length;
      if (o.importShape === "documented" && carried.length > 1)
        plan.notRestorable.filesNotCarried += carried.length - 1;
      if (applied.has(m.id)) plan.alreadyApplied.messages++;
      else {
        todo++;
        for (const f of o.importShape === "documented" ? carried.slice(0, 1) : carried) {
          const key = uploadKey(f);
          if (filesSeen.has(key)) continue;
          filesSeen.add(key);
          if (filesDone.has(key)) plan.files.alreadyUploaded++;
          else {
            plan.files.toUpload++;
            plan.files.bytes += f.size ?? 0;
          }
        }
      }
    }
    if (todo > 0) {
      plan.requests.readBacks++;
      plan.requests.imports += Math.ceil(todo / o.batchSize);
    }
  }
  const r = plan.requests;
  r.uploads = plan.files.toUpload;
  plan.estimatedSeconds =
    (r.users + r.conversations + r.participants + r.readBacks + r.imports + r.uploads) /
    o.targetRatePerSecond;
  return plan;
}

/** The body of a user PUT: the user as mirrored, minus what TalkJS sets itself. */
function userUpdate(u: MirroredUser): UserUpdate {
  const { id: _id, createdAt: _createdAt, ...rest } = u;
  return rest;
}

/**
 * Every message of a target conversation (read-back; newest first pages, order irrelevant). Only an
 * empty page ends it: a server may clamp `limit` silently, and a message missed here would be
 * imported twice. A fresh target conversation costs one request all the same (its first page is
 * empty).
 */
async function readBack(
  client: TalkJSClient,
  conversationId: string,
  signal?: AbortSignal,
): Promise<Message[]> {
  const out: Message[] = [];
  let after: string | undefined;
  for (;;) {
    const page = await client.listMessages(
      conversationId,
      { limit: READ_BACK_PAGE, ...(after === undefined ? {} : { startingAfter: after }) },
      signal,
    );
    if (page.length === 0) return out;
    out.push(...page);
    after = page[page.length - 1]?.id;
  }
}

/** Whether a failed request may have been applied (so the target must be read back). */
function outcomeUnknown(e: unknown): boolean {
  return e instanceof TalkJSApiError && e.code !== "TALKJS_ABORTED" && isRetryable(e);
}

/** Runs the restore (see the file comment); records a `restore` row in sync_runs. */
export async function runRestore(
  store: Store,
  client: TalkJSClient,
  o: RestoreOptions,
): Promise<RestoreSummary> {
  const source = await loadSource(store, o);
  const plan = await planOf(store, o, source);
  const summary: RestoreSummary = {
    plan,
    usersPut: 0,
    conversationsPut: 0,
    participantsPut: 0,
    messagesImported: 0,
    messagesMatched: 0,
    conversationsSkipped: 0,
    unknownOutcomes: 0,
    importRequests: 0,
    readBacks: 0,
    filesUploaded: 0,
    filesUploadedBytes: 0,
    filesReused: 0,
    filesNotArchived: 0,
  };
  // One restore per target at a time (two at once would each import what the other has not
  // recorded yet). A lock the kernel frees with the process, like the run lock: kill -9 never blocks
  // the rerun.
  const lockKey = `restore→${o.targetAppId}`;
  const lock = await store.acquireRunLock(lockKey, { kind: "restore", pid: process.pid, host: hostname() });
  if (!lock) {
    const holder = await store.describeRunLock(lockKey);
    throw new MirrorError(
      "RESTORE_LOCKED",
      `another restore into app "${o.targetAppId}" is running${holder ? ` (pid ${holder.pid} on ${holder.host})` : ""}; try again when it has finished`,
    );
  }
  try {
    return await lockedRestore(store, client, o, source, plan, summary);
  } finally {
    await lock.release().catch(() => {});
  }
}

async function lockedRestore(
  store: Store,
  client: TalkJSClient,
  o: RestoreOptions,
  source: Source,
  plan: RestorePlan,
  summary: RestoreSummary,
): Promise<RestoreSummary> {
  // Holding the target's restore lock proves no other restore into it is alive: a row still
  // `running` is one whose process died (kill -9).
  await store.closeAbandonedRestores(o.sourceAppId, o.targetAppId);
  const runId = await store.startRun(o.sourceAppId, "restore", new Date(), o.targetAppId);
  const statsBefore = { rateLimited: client.stats.rateLimited, pausedMs: client.stats.pausedMs };
  const finish = (status: "succeeded" | "failed", error: string | null) =>
    store.finishRun(runId, {
      status,
      error,
      counts: {
        fetched: plan.messages,
        inserted: summary.messagesImported,
        unchanged: summary.messagesMatched + plan.alreadyApplied.messages,
        pages: summary.importRequests,
      },
      throttle: {
        rateLimited: client.stats.rateLimited - statsBefore.rateLimited,
        pausedMs: client.stats.pausedMs - statsBefore.pausedMs,
        endRate: client.stats.currentRate,
      },
    });
  try {
    await restoreAll(store, client, o, source, summary);
  } catch (error) {
    await finish("failed", error instanceof Error ? error.message : String(error)).catch(() => {});
    await store.restore.addTotals(o.sourceAppId, { runsFailed: 1 }).catch(() => {});
    throw error;
  }
  await finish("succeeded", null);
  // /metrics counts restore runs from here (a restore is its own process; the worker never sees it).
  await store.restore.addTotals(o.sourceAppId, { runsSucceeded: 1 });
  return summary;
}

async function restoreAll(
  store: Store,
  client: TalkJSClient,
  o: RestoreOptions,
  source: Source,
  summary: RestoreSummary,
) {
  const ledger: Ledger = (kind, sourceId, extra) => ({
    targetAppId: o.targetAppId,
    sourceAppId: o.sourceAppId,
    kind,
    sourceId,
    conversationId: null,
    targetId: null,
    batch: null,
    status: "pending" as const,
    fingerprint: null,
    ...extra,
  });
  const files = await RestoreFiles.open(store, client, o);
  try {
    await restoreSource(store, client, o, summary, ledger, source, files);
  } finally {
    Object.assign(summary, files.counters);
  }
}

async function restoreSource(
  store: Store,
  client: TalkJSClient,
  o: RestoreOptions,
  summary: RestoreSummary,
  ledger: Ledger,
  source: Source,
  files: RestoreFiles,
): Promise<void> {
  const { signal } = o;
  // 1. Users: idempotent PUTs; the ledger only saves resending them on a rerun.
  const usersDone = appliedIds(await store.restore.ofKind(o.targetAppId, o.sourceAppId, "user"));
  const users = source.users.filter((u) => !usersDone.has(u.id));
  for (let i = 0; i < users.length; i += USER_BATCH) {
    const batch = users.slice(i, i + USER_BATCH);
    const body = Object.fromEntries(batch.map((u) => [u.id, userUpdate(u)]));
    const fp = contentHash(body); // the ledger's fingerprint of the request a row went in
    await client.putUsers(body, signal);
    await store.restore.write(
      batch.map((u) => ledger("user", u.id, { status: "applied", fingerprint: fp, targetId: u.id })),
    );
    summary.usersPut += batch.length;
  }

  // 2. Conversations, each with its messages.
  const convsDone = appliedIds(await store.restore.ofKind(o.targetAppId, o.sourceAppId, "conversation"));
  let conversationsDone = 0;
  const one = async (c: SourceConversation): Promise<void> => {
    signal?.throwIfAborted();
    const conv = c.conversation;
    if (!convsDone.has(conv.id)) {
      await client.putConversation(
        conv.id,
        {
          subject: conv.subject,
          photoUrl: conv.photoUrl,
          welcomeMessages: conv.welcomeMessages,
          custom: conv.custom,
          participants: Object.keys(c.participants),
        },
        signal,
      );
      summary.conversationsPut++;
      for (const [userId, p] of Object.entries(c.participants)) {
        if (p.access === DEFAULT_PARTICIPANT.access && p.notify === DEFAULT_PARTICIPANT.notify) continue;
        await client.putParticipant(conv.id, userId, { access: p.access, notify: p.notify }, signal);
        summary.participantsPut++;
      }
      await store.restore.write([ledger("conversation", conv.id, { status: "applied", targetId: conv.id })]);
    }
    await restoreMessages(store, client, o, conv.id, summary, ledger, files);
    conversationsDone++;
    o.onProgress?.({
      conversationsDone,
      conversations: source.conversations.length,
      messagesImported: summary.messagesImported,
    });
  };
  // Conversations are independent (each has its own ledger rows and read-back), so several go at
  // once; one conversation's imports stay in order. After a failure no new conversation starts,
  // the ones in flight finish, then the first error is thrown (mapLimited).
  await mapLimited(source.conversations, o.concurrency ?? 4, one);
}

/** Records the target id of every applied message of a conversation that has none yet (one read-back). */
async function mapTargetIds(
  store: Store,
  client: TalkJSClient,
  o: RestoreOptions,
  conversationId: string,
  messages: readonly Message[],
  summary: RestoreSummary,
  ledger: Ledger,
): Promise<void> {
  const entries = new Map(
    (await store.restore.ofConversation(o.targetAppId, o.sourceAppId, conversationId)).map((e) => [
      e.sourceId,
      e,
    ]),
  );
  const unmapped = messages.filter(
    (m) => entries.get(m.id)?.status === "applied" && !entries.get(m.id)?.targetId,
  );
  if (unmapped.length === 0) return;
  const bag = new MessageBag(await readBack(client, conversationId, o.signal));
  summary.readBacks++;
  for (const m of messages) {
    const known = entries.get(m.id)?.targetId;
    if (known) bag.claim(messageKey(m), known);
  }
  const rows = [];
  for (const m of unmapped) {
    const id = bag.take(messageKey(m), m.id);
    const e = entries.get(m.id);
    if (id !== null)
      rows.push(
        ledger("message", m.id, {
          conversationId,
          status: "applied",
          targetId: id,
          batch: e?.batch ?? null,
          fingerprint: e?.fingerprint ?? null,
        }),
      );
  }
  await store.restore.write(rows);
}

async function restoreMessages(
  store: Store,
  client: TalkJSClient,
  o: RestoreOptions,
  conversationId: string,
  summary: RestoreSummary,
  ledger: Ledger,
  files: RestoreFiles,
): Promise<void> {
  const { signal } = o;
  const messages = (await store.restore.messages(o.sourceAppId, conversationId, o.includeDeleted)).filter(
    importable,
  );
  for (let round = 1; ; round++) {
    const entries = new Map(
      (await store.restore.ofConversation(o.targetAppId, o.sourceAppId, conversationId)).map((e) => [
        e.sourceId,
        e,
      ]),
    );
    const applied = messages.filter((m) => entries.get(m.id)?.status === "applied");
    const todo = messages.filter((m) => entries.get(m.id)?.status !== "applied");
    if (todo.length === 0) return;
    if (round > MAX_ROUNDS)
      throw new MirrorError(
        "RESTORE_UNKNOWN_OUTCOME",
        `conversation ${conversationId}: import outcomes stayed unknown after ${MAX_ROUNDS} read-backs; run restore again`,
      );
    const target = await readBack(client, conversationId, signal);
    summary.readBacks++;
    if (o.skipExisting && entries.size === 0 && target.length > 0) {
      summary.conversationsSkipped++;
      return;
    }
    const batchBase = Math.max(0, ...[...entries.values()].map((e) => e.batch ?? 0));
    const { present, missing } = matchMissing(new MessageBag(target), applied, todo);
    if (present.length > 0) {
      await store.restore.write(
        present.map((p) =>
          ledger("message", p.message.id, {
            conversationId,
            status: "applied",
            targetId: p.targetId,
            batch: entries.get(p.message.id)?.batch ?? null,
            fingerprint: entries.get(p.message.id)?.fingerprint ?? null,
          }),
        ),
      );
      summary.messagesMatched += present.length;
    }
    let unknown = false;
    for (let i = 0, b = batchBase + 1; i < missing.length; i += o.batchSize, b++) {
      signal?.throwIfAborted();
      const batch = missing.slice(i, i + o.batchSize);
      // Files first (uploaded once per content and name, tokens in the ledger): the import names them by token.
      const tokens = await files.tokensFor(batch);
      const body = batch.map((m) => importItem(m, o.importShape, tokens.get(m.id)));
      const fp = contentHash(body); // the ledger's fingerprint of the request a row went in
      const rows = (status: "pending" | "applied") =>
        batch.map((m) => ledger("message", m.id, { conversationId, status, batch: b, fingerprint: fp }));
      // Intent first: a crash from here on leaves `pending`, which the next run reads back.
      await store.restore.write(rows("pending"));
      summary.importRequests++;
      try {
        await client.importMessages(conversationId, body, signal);
      } catch (e) {
        if (!outcomeUnknown(e)) throw e;
        summary.unknownOutcomes++;
        unknown = true;
        break; // read the conversation back before sending anything more
      }
      await store.restore.write(rows("applied"), undefined, { messages: batch.length });
      summary.messagesImported += batch.length;
    }
    if (unknown) continue;
    // Into the source app: learn the new ids of what was imported (old → new in the ledger's
    // target_id), the link a mirror needs to tell a restored message from a new one.
    if (o.sourceAppId === o.targetAppId)
      await mapTargetIds(store, client, o, conversationId, messages, summary, ledger);
    return;
  }
}
