// The users mirror. TalkJS users have no updatedAt and no "changed since" filter, so:
// - backfill lists every user (ordered by id), committing each page with the id it ends at, so an
//   interrupted listing resumes where it stopped;
// - sync GETs only the users first seen in what that sync wrote (participants of the conversations
//   and senders of the messages it stored) and not yet in `users`: its cost follows the changes,
//   never the size of the mirror;
// - reconcile re-lists every user (edits, anonymisation included, overwrite the row) and marks a
//   user deleted only when the complete listing lacked it AND a GET answers 404, capped like
//   conversations (TalkJS has no user-delete endpoint, so this should be rare).
import { MirrorError } from "../errors.ts";
import type { Store } from "../store/store.ts";
import type { MirroredUser } from "../talkjs/types.ts";
import { pageUsers, USER_PAGE_SIZE } from "../talkjs/users-pager.ts";
import { mapLimited } from "./limit.ts";
import { decideSweep, type SweepDecision } from "./policy.ts";
import {
  addProgress,
  clock,
  type RunProgress,
  type RunSummary,
  recordedRun,
  type SyncContext,
} from "./run.ts";
import { USERS_STREAM } from "./streams.ts";

/** GETs in flight (the client's rate governor still paces them). */
const GET_CONCURRENCY = 4;
/** Candidate ids read from the database per batch while confirming deletions. */
const CANDIDATE_PAGE = 200;

export type UsersPassMode = "list" | "new" | "reconcile";

export interface UsersPassSummary extends RunSummary {
  mode: UsersPassMode;
  /** `new`: ids the pass saw that had no users row (each one GET). */
  requested?: number;
  /** `new`: of those, users TalkJS answered 404 for (left out). */
  missing?: number;
  /** `reconcile`: live rows absent from the listing, before confirmation. */
  candidates?: number;
  resumed?: boolean;
}

/**
 * The ids of the users a pass writes, collected from the pages it stores: a store that passes
 * every call through and notes the participants and last-message sender of each conversation page
 * and the sender of each message page. The engine's passes stay unchanged; nothing is re-read.
 */
export function recordingUserIds(store: Store, into: Set<string>): Store {
  const messages = new Proxy(store.messages, {
    get(target, prop) {
      if (prop === "upsert") {
        const upsert: typeof target.upsert = (appId, list, opts) => {
          for (const m of list) if (m.senderId) into.add(m.senderId);
          return target.upsert(appId, list, opts);
        };
        return upsert;
      }
      const value: unknown = Reflect.get(target, prop, target);
      // Methods of the class use private fields: call them on the real instance.
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
  return {
    ...store,
    messages,
    upsertConversations: (appId, list, opts) => {
      for (const c of list) {
        for (const id of Object.keys(c.participants ?? {})) into.add(id);
        const sender = c.lastMessage?.senderId;
        if (sender) into.add(sender);
      }
      return store.upsertConversations(appId, list, opts);
    },
  };
}

/** True once a complete users listing has been committed (before that, a sync lists instead of GETs). */
export async function hasListedUsers(ctx: Pick<SyncContext, "store" | "appId">): Promise<boolean> {
  const state = await ctx.store.getSyncState(ctx.appId, USERS_STREAM);
  return state?.watermark != null;
}

/** Lists every user, resuming an interrupted listing from its committed cursor. */
export async function runUsersListing(ctx: SyncContext): Promise<UsersPassSummary> {
  const { store, appId } = ctx;
  const saved = await store.getSyncState(appId, USERS_STREAM);
  const from = saved?.cursor ?? null;
  const summary = await recordedRun(ctx, "users", async (progress) => {
    const passStartedAt = clock(ctx);
    for await (const page of pageUsers(ctx.client, { from }, ctx.signal)) {
      const counts = await store.users.upsert(appId, page.users, {
        seenAt: new Date(page.fetchedAt),
        checkpoint: { stream: USERS_STREAM, cursor: page.cursor },
      });
      addProgress(ctx, progress, { ...counts, pages: 1, fetched: page.users.length });
    }
    // Complete: the next listing starts over; the watermark says a complete one exists.
    await store.saveSyncState(appId, USERS_STREAM, {
      cursor: null,
      watermark: new Date(passStartedAt),
      lastSuccessAt: new Date(clock(ctx)),
    });
  });
  return { ...summary, mode: "list", resumed: from !== null };
}

/** GETs the users among `seen` that have no row yet, and stores them. */
export async function runNewUsers(ctx: SyncContext, seen: Iterable<string>): Promise<UsersPassSummary> {
  const { store, appId, client } = ctx;
  let requested = 0;
  let missing = 0;
  const summary = await recordedRun(ctx, "users", async (progress) => {
    const ids = await store.users.unknownIds(appId, seen);
    requested = ids.length;
    for (let i = 0; i < ids.length; i += USER_PAGE_SIZE) {
      const batch = ids.slice(i, i + USER_PAGE_SIZE);
      const found = await mapLimited(batch, GET_CONCURRENCY, (id) => client.getUser(id, ctx.signal));
      const users = found.filter((u): u is MirroredUser => u !== null);
      missing += batch.length - users.length;
      const counts = await store.users.upsert(appId, users, { seenAt: new Date(clock(ctx)) });
      addProgress(ctx, progress, { ...counts, pages: batch.length, fetched: users.length });
    }
    if (missing > 0) {
      ctx.logger.warn(
        { job: "users", missing },
        "participants or senders without a TalkJS user (GET answered 404); they stay bare ids",
      );
    }
    await store.saveSyncState(appId, USERS_STREAM, { cursor: null, lastSuccessAt: new Date(clock(ctx)) });
  });
  return { ...summary, mode: "new", requested, missing };
}

export interface UsersReconcileOptions {
  maxDeleteShare: number;
  allowMassDelete: boolean;
}

/** Re-lists every user (overwriting edits) and sweeps users confirmed gone. */
export async function runUsersReconcile(
  ctx: SyncContext,
  options: UsersReconcileOptions,
): Promise<UsersPassSummary> {
  const { store, appId, client } = ctx;
  let candidates = 0;
  const summary = await recordedRun(ctx, "users", async (progress) => {
    const runId = progress.runId;
    const passStartedAt = clock(ctx);
    for await (const page of pageUsers(client, {}, ctx.signal)) {
      const counts = await store.users.upsert(appId, page.users, { seenAt: new Date(page.fetchedAt), runId });
      addProgress(ctx, progress, { ...counts, pages: 1, fetched: page.users.length });
    }
    // Reaching this line means the listing ended with an empty page and no error.
    const liveBefore = await store.users.countLive(appId);
    const sweep = (missing: number): SweepDecision =>
      decideSweep({
        listingComplete: true,
        liveCount: liveBefore,
        confirmedMissing: missing,
        maxDeleteShare: options.maxDeleteShare,
        allowMassDelete: options.allowMassDelete,
        noun: "users",
      });
    candidates = await store.users.countUnseenLive(appId, runId);
    refuseUnless(sweep(candidates));
    const confirmed = await confirmGone(ctx, progress);
    refuseUnless(sweep(confirmed.length));
    progress.markedDeleted = await store.users.markDeleted(appId, confirmed, new Date(clock(ctx)));
    await store.saveSyncState(appId, USERS_STREAM, {
      cursor: null,
      watermark: new Date(passStartedAt),
      lastSuccessAt: new Date(clock(ctx)),
    });
  });
  return { ...summary, mode: "reconcile", candidates };
}

/** GETs every candidate; a user that still exists means the listing cannot be trusted. */
async function confirmGone(ctx: SyncContext, progress: RunProgress): Promise<string[]> {
  const { store, appId, client } = ctx;
  const confirmed: string[] = [];
  const stillThere: MirroredUser[] = [];
  let afterId: string | undefined;
  for (;;) {
    const ids = await store.users.listUnseenLive(appId, progress.runId, CANDIDATE_PAGE, afterId);
    if (ids.length === 0) break;
    afterId = ids.at(-1);
    const found = await mapLimited(ids, GET_CONCURRENCY, (id) => client.getUser(id, ctx.signal));
    found.forEach((user, i) => {
      if (user === null) confirmed.push(ids[i] as string);
      else stillThere.push(user);
    });
  }
  if (stillThere.length > 0) {
    await store.users.upsert(appId, stillThere, { seenAt: new Date(clock(ctx)), runId: progress.runId });
    throw new MirrorError(
      "LISTING_INCOMPLETE",
      `${stillThere.length} user(s) missing from the full listing still exist at TalkJS ` +
        `(e.g. "${stillThere[0]?.id}"): the listing cannot be trusted, so no user was marked deleted`,
    );
  }
  return confirmed;
}

function refuseUnless(decision: SweepDecision): void {
  if (!decision.mark) throw new MirrorError(decision.code, `no user was marked deleted: ${decision.reason}`);
}
