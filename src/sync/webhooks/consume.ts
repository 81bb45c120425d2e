// The webhook consumer, in two steps so that nothing acknowledged is ever lost:
//   1. moveInboxToQueue: the inbox's unprocessed events → planned fetches (./plan.ts), coalesced by
//      conversation/user, written to the mirror's work_queue in one transaction; only then are the
//      events marked processed. A crash in between re-plans them (the queue is keyed: harmless).
//   2. drainWebhookWork: the queued fetches, by whoever holds the app's run lock (the worker between
//      its jobs or beside its running job, or any sync/reconcile at its end), in rounds of batched
//      writes: GET each conversation (404: marked deleted) and its new messages, re-read the page of
//      an edited message, GET each user. The client's rate governor paces every request.
import { MirrorError } from "../../errors.ts";
import type { WebhookInbox } from "../../store/webhook-inbox.ts";
import { HOOK_KINDS, type HookKind, WORK_KINDS } from "../../store/webhook-work.ts";
import { TalkJSApiError } from "../../talkjs/errors.ts";
import type { Conversation, Message, MirroredUser } from "../../talkjs/types.ts";
import { mapSettled } from "../limit.ts";
import { MESSAGE_PAGE_SIZE, mirrorMessagesOf } from "../messages.ts";
import { clock, type SyncContext } from "../run.ts";
import { coalesce, planWebhook, splitMessageKey } from "./plan.ts";
import { parseWebhookEvent } from "./verify.ts";

const INBOX_BATCH = 500;
const DRAIN_BATCH = 100;
/** Re-reading an edited message's page: it and a few older ones. */
const EDIT_PAGE = 10;
/** Pages an edit's fallback search reads at most (newest first). */
const EDIT_SCAN_PAGES = 10;

export interface ConsumeOptions {
  mirrorUsers: boolean;
}

/** Moves every unprocessed inbox event into the work queue; returns how many events it moved. */
export async function moveInboxToQueue(
  ctx: Pick<SyncContext, "store" | "appId" | "now">,
  inbox: WebhookInbox,
  opts: ConsumeOptions,
): Promise<number> {
  let moved = 0;
  for (;;) {
    const events = inbox.pending(INBOX_BATCH);
    if (events.length === 0) return moved;
    const planned = events.map((e) => {
      const event = parseWebhookEvent(Buffer.from(e.body, "utf8"));
      return { fetches: event ? planWebhook(event, opts) : [], receivedAt: e.receivedAt };
    });
    await ctx.store.webhookWork.enqueue(ctx.appId, coalesce(planned));
    inbox.markProcessed(
      events.map((e) => e.id),
      (ctx.now ?? Date.now)(),
    );
    moved += events.length;
  }
}

export interface DrainOptions {
  mirrorUsers: boolean;
  mirrorMessages: boolean;
  /** Requests in flight per kind of fetch (the client's governor still paces them). */
  concurrency: number;
  /** Take at most this many items even if events keep arriving (a job's tail must end). */
  maxItems?: number;
  /** Checked before each round: true stops taking new items (the round in flight finishes). */
  shouldStop?: () => boolean;
  /** Each applied item: its kind and the time from its newest event's receipt to now (ms). */
  onApplied?: (kind: string, lagMs: number) => void;
  /** A long-lived consumer's memory of failing items, so each is retried only after its backoff. */
  failing?: FailingItems;
  /** Each item given up after failing for GIVE_UP_AFTER_MS (dequeued: the schedule covers it). */
  onGivenUp?: (kind: string) => void;
}

/** How long an item whose fetch failed `failures` times in a row waits before it is tried again. */
export function retryDelayMs(failures: number): number {
  return Math.min(300_000, 1_000 * 2 ** Math.max(0, failures - 1));
}

/** How long an item may keep failing before the drain gives it up to the schedule. */
export const GIVE_UP_AFTER_MS = 3_600_000;

/**
 * Items whose fetch failed, held back for retryDelayMs (1 s, doubling, at most 5 min): a fetch that
 * keeps failing (a conversation TalkJS answers 5xx for, retried by the client each time) must not
 * slow every round it would join. One still failing after `giveUpAfterMs` is given up: dequeued
 * with a warning, left to the next sync or reconcile (the backstop for any webhook), so a
 * permanently failing item does not sit in the queue, and in `status`'s webhook lag, forever.
 * Forgotten on success; per process (a restart tries them at once).
 */
export class FailingItems {
  readonly #items = new Map<string, { failures: number; since: number; retryAt: number }>();
  readonly #giveUpAfterMs: number;

  constructor(options: { giveUpAfterMs?: number } = {}) {
    this.#giveUpAfterMs = options.giveUpAfterMs ?? GIVE_UP_AFTER_MS;
  }

  held(id: string, now: number): boolean {
    return (this.#items.get(id)?.retryAt ?? 0) > now;
  }

  /** Notes a failure; true when the item has failed for giveUpAfterMs and is given up (forgotten). */
  failed(id: string, now: number): boolean {
    const seen = this.#items.get(id);
    const since = seen?.since ?? now;
    if (now - since >= this.#giveUpAfterMs) {
      this.#items.delete(id);
      return true;
    }
    const failures = (seen?.failures ?? 0) + 1;
    this.#items.set(id, { failures, since, retryAt: now + retryDelayMs(failures) });
    return false;
  }

  succeeded(id: string): void {
    this.#items.delete(id);
  }

  get size(): number {
    return this.#items.size;
  }
}

export interface DrainSummary {
  conversations: number;
  deleted: number;
  messagePages: number;
  users: number;
  /** Items dequeued after failing for GIVE_UP_AFTER_MS (left to the schedule). */
  givenUp: number;
}

/** Items of a round whose fetch failed: key → error (they stay queued). */
type Failures = Map<string, unknown>;

/** What every fetch of a drain shares. */
interface Round {
  ctx: SyncContext;
  opts: DrainOptions;
  summary: DrainSummary;
}

/**
 * Fetches what the queued webhook work names, until the queue is empty (or maxItems), in rounds:
 * each round takes the longest-waiting items (up to DRAIN_BATCH), GETs them all, then writes them
 * in a few batched statements and dequeues them in one per kind. A round's database work is a
 * handful of round trips however many items it holds, so the throughput grows with the backlog
 * and the lag stays about two rounds (events arriving during a round are the next one's).
 * An item whose fetch fails stays queued and is skipped for the rest of this drain (and, with
 * `failing`, until its backoff has passed), so it never holds back the others; the first such
 * error is thrown at the end (the caller retries later).
 */
export async function drainWebhookWork(ctx: SyncContext, opts: DrainOptions): Promise<DrainSummary> {
  const { store, appId } = ctx;
  const summary: DrainSummary = { conversations: 0, deleted: 0, messagePages: 0, users: 0, givenUp: 0 };
  const round: Round = { ctx, opts, summary };
  const kinds = HOOK_KINDS.filter((k) => k !== WORK_KINDS.hookMessage || opts.mirrorMessages);
  const maxItems = opts.maxItems ?? Number.POSITIVE_INFINITY;
  const skipped = new Map<string, unknown>(); // kind \0 key → its error
  const id = (kind: HookKind, key: string): string => `${kind}\u0000${key}`;
  let taken = 0;
  while (taken < maxItems && !ctx.signal?.aborted && opts.shouldStop?.() !== true) {
    const limit = Math.min(DRAIN_BATCH, maxItems - taken);
    const listedAt = clock(ctx);
    const items = (
      await store.webhookWork.list(appId, kinds, limit + skipped.size + (opts.failing?.size ?? 0))
    )
      .filter(
        (i) => !skipped.has(id(i.kind, i.key)) && opts.failing?.held(id(i.kind, i.key), listedAt) !== true,
      )
      .slice(0, limit);
    if (items.length === 0) break;
    taken += items.length;
    // Taken before the GETs: an event received after it keeps its item queued (dequeueHookWork).
    const startedAt = new Date(clock(ctx));
    const ofKind = (kind: HookKind): string[] => items.filter((i) => i.kind === kind).map((i) => i.key);
    const failures: Record<HookKind, Failures> = {
      hook_conversation: new Map(),
      hook_message: new Map(),
      hook_user: new Map(),
    };
    // The kinds run side by side; each waits for all its fetches before it writes. A failed write
    // is thrown only once every kind has settled: nothing is still writing when the lock is released.
    const settled = await Promise.allSettled([
      fetchConversations(round, ofKind(WORK_KINDS.hookConversation), failures.hook_conversation),
      opts.mirrorMessages ? fetchEdits(round, ofKind(WORK_KINDS.hookMessage), failures.hook_message) : null,
      fetchUsers(round, ofKind(WORK_KINDS.hookUser), failures.hook_user),
    ]);
    const failedWrite = settled.find((r) => r.status === "rejected");
    if (failedWrite) throw failedWrite.reason;
    ctx.signal?.throwIfAborted();
    const givenUp: typeof items = [];
    for (const kind of HOOK_KINDS) {
      for (const [key, error] of failures[kind]) {
        skipped.set(id(kind, key), error);
        if (opts.failing?.failed(id(kind, key), clock(ctx)) === true) {
          givenUp.push(...items.filter((i) => i.kind === kind && i.key === key));
          ctx.logger.warn(
            {
              kind,
              key,
              code:
                error instanceof MirrorError || error instanceof TalkJSApiError ? error.code : "UNEXPECTED",
              err: error instanceof Error ? error.message : String(error),
            },
            "webhook fetch given up after failing for an hour; the next sync or reconcile covers it",
          );
        }
      }
    }
    // A given-up item leaves the queue (unless a newer event arrived: that one gets a fresh try).
    for (const dropped of await store.webhookWork.done(appId, givenUp, startedAt)) {
      summary.givenUp += 1;
      opts.onGivenUp?.(dropped.kind);
    }
    const served = items.filter((i) => !skipped.has(id(i.kind, i.key)));
    for (const i of served) opts.failing?.succeeded(id(i.kind, i.key));
    const now = clock(ctx);
    for (const done of await store.webhookWork.done(appId, served, startedAt)) {
      opts.onApplied?.(done.kind, now - done.enqueuedAt.getTime());
    }
  }
  ctx.signal?.throwIfAborted();
  const [firstFailure] = skipped.values();
  if (skipped.size > 0) throw firstFailure;
  return summary;
}

/**
 * GETs the conversations; 404s are marked deleted (the GET is the confirmation), the rest written
 * with their new messages. A failed GET or message fetch is noted in `failures`.
 */
async function fetchConversations(round: Round, ids: readonly string[], failures: Failures): Promise<void> {
  const { ctx, opts, summary } = round;
  if (ids.length === 0) return;
  const { store, appId, client } = ctx;
  const got = await mapSettled(ids, opts.concurrency, (id) => client.getConversation(id, ctx.signal));
  const gone: string[] = [];
  const found: Conversation[] = [];
  got.forEach((r, i) => {
    const key = ids[i] as string;
    if (!r.ok) failures.set(key, r.error);
    else if (r.value === null) gone.push(key);
    else found.push(r.value);
  });
  ctx.signal?.throwIfAborted();
  if (gone.length > 0) {
    summary.deleted += await store.markDeleted(appId, gone, new Date(clock(ctx)));
    await store.messages.dequeue(appId, gone);
  }
  if (found.length > 0) {
    await store.upsertConversations(appId, found, { seenAt: new Date(clock(ctx)) });
    if (opts.mirrorMessages) {
      const work = await store.webhookWork.messageWorkFor(
        appId,
        found.map((c) => c.id),
      );
      const { failed } = await mirrorMessagesOf(ctx, work, opts.concurrency);
      for (const [key, error] of failed) failures.set(key, error);
    }
  }
  summary.conversations += ids.length - failures.size;
}

/** Re-reads the page of each edited message (key: conversation \n message). */
async function fetchEdits(round: Round, keys: readonly string[], failures: Failures): Promise<void> {
  const { ctx, opts, summary } = round;
  const read = await mapSettled(keys, opts.concurrency, async (key) => {
    const ids = splitMessageKey(key);
    return ids === null ? 0 : await rereadPageOf(ctx, ids.conversationId, ids.messageId);
  });
  read.forEach((r, i) => {
    if (r.ok) summary.messagePages += r.value;
    else failures.set(keys[i] as string, r.error);
  });
}

/** GETs the users (when the users mirror is on) and writes those that exist. */
async function fetchUsers(round: Round, ids: readonly string[], failures: Failures): Promise<void> {
  const { ctx, opts, summary } = round;
  if (ids.length === 0 || !opts.mirrorUsers) return;
  const got = await mapSettled(ids, opts.concurrency, (id) => ctx.client.getUser(id, ctx.signal));
  const found: MirroredUser[] = [];
  got.forEach((r, i) => {
    if (!r.ok) failures.set(ids[i] as string, r.error);
    else if (r.value !== null) found.push(r.value);
  });
  ctx.signal?.throwIfAborted();
  if (found.length === 0) return;
  await ctx.store.users.upsert(ctx.appId, found, { seenAt: new Date(clock(ctx)) });
  summary.users += found.length;
}

/**
 * Re-reads the page that holds an edited message: the page after the mirrored message just newer
 * than it (or the newest page). When that page does not hold it (the anchor was deleted at TalkJS:
 * 400, or messages moved), the history is read newest first until it is found, at most
 * EDIT_SCAN_PAGES pages; past that the next `reconcile --messages` has it. A conversation gone
 * (404) is left to its conversation fetch. Returns the pages read.
 */
async function rereadPageOf(ctx: SyncContext, conversationId: string, messageId: string): Promise<number> {
  const anchor = await ctx.store.webhookWork.newerAnchor(ctx.appId, conversationId, messageId);
  let pages = 0;
  const read = async (params: { limit: number; startingAfter?: string }): Promise<Message[] | null> => {
    try {
      const page = await ctx.client.listMessages(conversationId, params, ctx.signal);
      pages += 1;
      const mine = page.filter((m) => m.conversationId === conversationId);
      if (mine.length > 0) await ctx.store.messages.upsert(ctx.appId, mine, { seenAt: new Date(clock(ctx)) });
      return page;
    } catch (error) {
      if (error instanceof TalkJSApiError && (error.status === 404 || error.status === 400)) return null;
      throw error;
    }
  };
  const first = await read({ limit: EDIT_PAGE, ...(anchor !== null ? { startingAfter: anchor } : {}) });
  if (first?.some((m) => m.id === messageId)) return pages;
  let after: string | undefined;
  for (let i = 0; i < EDIT_SCAN_PAGES; i++) {
    const page = await read({
      limit: MESSAGE_PAGE_SIZE,
      ...(after !== undefined ? { startingAfter: after } : {}),
    });
    if (page === null || page.length === 0 || page.some((m) => m.id === messageId)) break;
    after = page.at(-1)?.id;
  }
  return pages;
}
