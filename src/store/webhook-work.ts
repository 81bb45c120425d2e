// The webhook kinds of work_queue: what the consumer enqueues from the inbox and the drain fetches.
import type { Db } from "./open.ts";
import { toDate, toNumber } from "./sql/shared.ts";
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
  key: string;
  enqueuedAt: Date;
}

export class WebhookWorkStore {
  readonly #db: Db;

  constructor(db: Db) {
    this.#db = db;
  }

  /** Queues the items in one transaction (keyed: 100 events for one conversation are one row). */
  async enqueue(appId: string, items: readonly { kind: HookKind; key: string; at: Date }[]): Promise<void> {
    if (items.length === 0) return;
    const pg = this.#db.provider === "postgresql";
    await this.#db.client.$transaction(
      items.map((i) => this.#db.client.$executeRaw(enqueueHookWork(pg, appId, i.kind, i.key, i.at))),
    );
  }

  async list(appId: string, kind: HookKind, limit: number): Promise<HookWorkItem[]> {
    const rows = await this.#db.client.$queryRaw<{ key: string; enqueued_at: unknown }[]>(
      listHookWork(appId, kind, limit),
    );
    return rows.map((r) => ({ key: r.key, enqueuedAt: toDate(r.enqueued_at) ?? new Date(0) }));
  }

  /** Dequeues one item unless a newer event moved it past `startedAt`; true when removed. */
  async done(appId: string, kind: HookKind, key: string, startedAt: Date): Promise<boolean> {
    const pg = this.#db.provider === "postgresql";
    return (await this.#db.client.$executeRaw(dequeueHookWork(pg, appId, kind, key, startedAt))) > 0;
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
