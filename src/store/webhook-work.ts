// The webhook kinds of work_queue: what the consumer enqueues from the inbox and the drain fetches.
import type { Db } from "./open.ts";
import { chunk, MAX_PARAMS, toDate, toNumber } from "./sql/shared.ts";
import {
  dequeueHookWork,
  enqueueHookWork,
  type HookKind,
  hookBacklog,
  listHookWork,
  newerMessageAnchor,
  queuedMessageWorkFor,
} from "./sql/work-queue.ts";
import type { MessageWork } from "./types.ts";

export { HOOK_KINDS, type HookKind, WORK_KINDS } from "./sql/work-queue.ts";

export interface HookWorkItem {
  kind: HookKind;
  key: string;
  /** The newest event's receipt. */
  enqueuedAt: Date;
}

/** Rows per enqueue statement (5 parameters each, far under every database's limit). */
const ENQUEUE_ROWS = 1_000;

export class WebhookWorkStore {
  readonly #db: Db;

  constructor(db: Db) {
    this.#db = db;
  }

  /**
   * Queues the items in one transaction (keyed: 100 events for one conversation are one row).
   * `at` is the newest event's receipt, `firstAt` the oldest's (default: `at`).
   */
  async enqueue(
    appId: string,
    items: readonly { kind: HookKind; key: string; at: Date; firstAt?: Date }[],
  ): Promise<void> {
    if (items.length === 0) return;
    const pg = this.#db.provider === "postgresql";
    const rows = items.map((i) => ({ ...i, firstAt: i.firstAt ?? i.at }));
    await this.#db.client.$transaction(
      chunk(rows, ENQUEUE_ROWS).map((part) => this.#db.client.$executeRaw(enqueueHookWork(pg, appId, part))),
    );
  }

  /** The longest-waiting queued items of these kinds. */
  async list(appId: string, kinds: readonly HookKind[], limit: number): Promise<HookWorkItem[]> {
    if (kinds.length === 0) return [];
    const rows = await this.#db.client.$queryRaw<{ kind: HookKind; key: string; enqueued_at: unknown }[]>(
      listHookWork(appId, kinds, limit),
    );
    return rows.map((r) => ({ kind: r.kind, key: r.key, enqueuedAt: toDate(r.enqueued_at) ?? new Date(0) }));
  }

  /**
   * Dequeues done items, except those a newer event moved past `startedAt` (they stay queued for
   * the next fetch). Returns the removed ones.
   */
  async done(appId: string, items: readonly HookWorkItem[], startedAt: Date): Promise<HookWorkItem[]> {
    const pg = this.#db.provider === "postgresql";
    const removed: HookWorkItem[] = [];
    for (const kind of new Set(items.map((i) => i.kind))) {
      const keys = items.filter((i) => i.kind === kind).map((i) => i.key);
      for (const part of chunk(keys, MAX_PARAMS - 3)) {
        const rows = await this.#db.client.$queryRaw<{ key: string; enqueued_at: unknown }[]>(
          dequeueHookWork(pg, appId, kind, part, startedAt),
        );
        for (const r of rows)
          removed.push({ kind, key: r.key, enqueuedAt: toDate(r.enqueued_at) ?? new Date(0) });
      }
    }
    return removed;
  }

  async backlog(appId: string): Promise<{ queued: number; oldestAt: Date | null }> {
    const [row] = await this.#db.client.$queryRaw<Record<string, unknown>[]>(hookBacklog(appId));
    return { queued: toNumber(row?.n), oldestAt: toDate(row?.oldest) };
  }

  /** The message pass's pending work for these conversations (after their conversation was written). */
  async messageWorkFor(appId: string, ids: readonly string[]): Promise<MessageWork[]> {
    if (ids.length === 0) return [];
    const rows = await this.#db.client.$queryRaw<
      { conversation_id: string; last_message_id: string | null; newest_message_at: unknown }[]
    >(queuedMessageWorkFor(appId, ids));
    return rows.map((r) => ({
      conversationId: r.conversation_id,
      lastMessageId: r.last_message_id,
      newestKnownAt: toDate(r.newest_message_at),
    }));
  }

  /** The id of the mirrored message just newer than this one (null: it is the newest, or unknown). */
  async newerAnchor(appId: string, conversationId: string, messageId: string): Promise<string | null> {
    const rows = await this.#db.client.$queryRaw<{ id: string }[]>(
      newerMessageAnchor(appId, conversationId, messageId),
    );
    return rows[0]?.id ?? null;
  }
}
