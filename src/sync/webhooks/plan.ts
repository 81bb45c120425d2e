// What a webhook event asks the mirror to fetch — a pure decision. An event is a hint, never a
// source: nothing from its body is written, only the ids it names are read back from TalkJS.
//   message.sent / message.deleted → the conversation (GET) and its newest messages
//   message.updated                → the same, and a re-read of the page that holds that message
//   conversation.deleted           → GET the conversation; only a 404 marks it deleted
//   user.created / user.updated    → GET the user (when the users mirror is on)
// Messages are never marked deleted from a webhook (only `reconcile --messages` may).
import type { HookKind } from "../../store/webhook-work.ts";
import type { WebhookEvent } from "./verify.ts";

export interface PlannedFetch {
  kind: HookKind;
  key: string;
}

/** The key of a hook_message item (conversation and message ids; a newline is in neither). */
export function messageKey(conversationId: string, messageId: string): string {
  return `${conversationId}\n${messageId}`;
}

export function splitMessageKey(key: string): { conversationId: string; messageId: string } | null {
  const at = key.indexOf("\n");
  if (at <= 0 || at === key.length - 1) return null;
  return { conversationId: key.slice(0, at), messageId: key.slice(at + 1) };
}

function idOf(value: unknown): string | undefined {
  if (typeof value !== "object" || value === null) return undefined;
  const id = (value as { id?: unknown }).id;
  return typeof id === "string" && id.length > 0 && !id.includes("\n") ? id : undefined;
}

export function planWebhook(event: WebhookEvent, opts: { mirrorUsers: boolean }): PlannedFetch[] {
  const { data } = event;
  if (event.type.startsWith("message.")) {
    if (event.type === "message.read") return []; // read receipts: the next sync has them
    const message = data.message as { conversationId?: unknown } | undefined;
    const conversationId =
      idOf(data.conversation) ??
      (typeof message?.conversationId === "string" && message.conversationId.length > 0
        ? message.conversationId
        : undefined);
    if (conversationId === undefined || conversationId.includes("\n")) return [];
    const out: PlannedFetch[] = [{ kind: "hook_conversation", key: conversationId }];
    const messageId = idOf(message);
    if (event.type === "message.updated" && messageId !== undefined) {
      out.push({ kind: "hook_message", key: messageKey(conversationId, messageId) });
    }
    return out;
  }
  if (event.type === "conversation.deleted") {
    const id = idOf(data.conversation);
    return id === undefined ? [] : [{ kind: "hook_conversation", key: id }];
  }
  if (event.type === "user.created" || event.type === "user.updated") {
    const id = idOf(data.user);
    return id === undefined || !opts.mirrorUsers ? [] : [{ kind: "hook_user", key: id }];
  }
  return []; // notification events and unknown types: nothing to fetch
}

/**
 * Coalesces a batch's plans: one item per (kind, key), timed at its newest event's receipt (the
 * drain dequeues an item only when its fetch started after that receipt) and at its oldest (the
 * drain serves the longest-waiting first).
 */
export function coalesce(
  planned: readonly { fetches: readonly PlannedFetch[]; receivedAt: number }[],
): { kind: HookKind; key: string; at: Date; firstAt: Date }[] {
  const byKey = new Map<string, { kind: HookKind; key: string; at: number; firstAt: number }>();
  for (const p of planned) {
    for (const f of p.fetches) {
      const id = `${f.kind}\u0000${f.key}`;
      const seen = byKey.get(id);
      if (!seen) byKey.set(id, { ...f, at: p.receivedAt, firstAt: p.receivedAt });
      else {
        seen.at = Math.max(seen.at, p.receivedAt);
        seen.firstAt = Math.min(seen.firstAt, p.receivedAt);
      }
    }
  }
  return [...byKey.values()].map((v) => ({
    kind: v.kind,
    key: v.key,
    at: new Date(v.at),
    firstAt: new Date(v.firstAt),
  }));
}
