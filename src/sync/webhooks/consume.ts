// The webhook consumer, in two steps so that nothing acknowledged is ever lost:
//   1. moveInboxToQueue: the inbox's unprocessed events → planned fetches (./plan.ts), coalesced by
//      conversation/user, written to the mirror's work_queue in one transaction; only then are the
//      events marked processed. A crash in between re-plans them (the queue is keyed: harmless).
//   2. drainWebhookWork: the queued fetches, by whoever holds the app's run lock (the worker between
//      its jobs or beside its running job, or any sync/reconcile at its end): GET each conversation
//      (404: marked deleted) and its new messages, re-read the page of an edited message, GET each
//      user. The client's rate governor paces every request.
import type { WebhookInbox } from "../../store/webhook-inbox.ts";
import { HOOK_KINDS, type HookKind, type HookWorkItem, WORK_KINDS } from "../../store/webhook-work.ts";
import { TalkJSApiError } from "../../talkjs/errors.ts";
import type { Message } from "../../talkjs/types.ts";
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
  concurrency: number;
  /** Start at most this many items even if events keep arriving (a job's tail must end). */
  maxItems?: number;
  /** Checked before each new item: true stops starting new ones (the items in flight finish). */
  shouldStop?: () => boolean;
  /** Each applied item: its kind and the time from its newest event's receipt to now (ms). */
  onApplied?: (kind: string, lagMs: number) => void;
}

export interface DrainSummary {
  conversations: number;
  deleted: number;
  messagePages: number;
  users: number;
}

/** Fetches what the queued webhook work names, until the queue is empty (or maxItems). */
export async function drainWebhookWork(ctx: SyncContext, opts: DrainOptions): Promise<DrainSummary> {
  const { store, appId, client } = ctx;
  const work = store.webhookWork;
  const summary: DrainSummary = { conversations: 0, deleted: 0, messagePages: 0, users: 0 };
  const applied = (kind: string, at: Date): void => opts.onApplied?.(kind, clock(ctx) - at.getTime());
  // One item's fetch is a pipeline of its own (GET, write, its messages, dequeue): an item's lag
  // does not wait for the slowest of a batch. The three kinds share the pool.
  const conversation = async (item: HookWorkItem, startedAt: Date): Promise<void> => {
    const conv = await client.getConversation(item.key, ctx.signal);
    if (conv === null) {
      // A GET that answered 404 is the confirmation: the conversation is gone at TalkJS.
      summary.deleted += await store.markDeleted(appId, [item.key], new Date(clock(ctx)));
      await store.messages.dequeue(appId, [item.key]);
    } else {
      await store.upsertConversations(appId, [conv], { seenAt: new Date(clock(ctx)) });
      if (opts.mirrorMessages) {
        await mirrorMessagesOf(ctx, await work.messageWorkFor(appId, [conv.id]), 1);
      }
    }
    summary.conversations += 1;
    if (await work.done(appId, WORK_KINDS.hookConversation, item.key, startedAt)) {
      applied(WORK_KINDS.hookConversation, item.enqueuedAt);
    }
  };
  const edit = async (item: HookWorkItem, startedAt: Date): Promise<void> => {
    const ids = splitMessageKey(item.key);
    if (ids !== null) summary.messagePages += await rereadPageOf(ctx, ids.conversationId, ids.messageId);
    if (await work.done(appId, WORK_KINDS.hookMessage, item.key, startedAt)) {
      applied(WORK_KINDS.hookMessage, item.enqueuedAt);
    }
  };
  const user = async (item: HookWorkItem, startedAt: Date): Promise<void> => {
    if (opts.mirrorUsers) {
      const got = await client.getUser(item.key, ctx.signal);
      if (got !== null) {
        await store.users.upsert(appId, [got], { seenAt: new Date(clock(ctx)) });
        summary.users += 1;
      }
    }
    if (await work.done(appId, WORK_KINDS.hookUser, item.key, startedAt)) {
      applied(WORK_KINDS.hookUser, item.enqueuedAt);
    }
  };
  const handlers: Record<HookKind, (item: HookWorkItem, startedAt: Date) => Promise<void>> = {
    hook_conversation: conversation,
    hook_message: edit,
    hook_user: user,
  };
  const kinds = HOOK_KINDS.filter((k) => k !== WORK_KINDS.hookMessage || opts.mirrorMessages);
  // A pool, not rounds: whenever an item is done the queue is read again and free slots start the
  // next items, so an event arriving mid-drain waits for a free slot, not for a whole batch.
  const running = new Map<string, Promise<void>>();
  let failure: { error: unknown } | null = null;
  let started = 0;
  const maxItems = opts.maxItems ?? Number.POSITIVE_INFINITY;
  for (;;) {
    if (failure === null && !ctx.signal?.aborted && started < maxItems && opts.shouldStop?.() !== true) {
      for (const kind of kinds) {
        if (running.size >= opts.concurrency) break;
        for (const item of await work.list(appId, kind, DRAIN_BATCH)) {
          if (running.size >= opts.concurrency || started >= maxItems) break;
          const id = `${kind}\u0000${item.key}`;
          if (running.has(id)) continue;
          started += 1;
          // Taken before its GET: an event received after it keeps the item queued (dequeueHookWork).
          const startedAt = new Date(clock(ctx));
          const task = handlers[kind](item, startedAt)
            .catch((error: unknown) => {
              failure ??= { error };
            })
            .finally(() => running.delete(id));
          running.set(id, task);
        }
      }
    }
    if (running.size === 0) break;
    await Promise.race(running.values());
  }
  if (failure !== null) throw (failure as { error: unknown }).error;
  ctx.signal?.throwIfAborted();
  return summary;
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
