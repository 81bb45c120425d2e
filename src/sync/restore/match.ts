// The multiset match that makes a non-idempotent import exactly-once: a message is identified in
// the target by (sender, timestamp, hash of its text), and identical messages are counted, so two
// equal messages in the source need two in the target.
import { createHash } from "node:crypto";
import type { Message } from "../../talkjs/types.ts";

export type MessageKey = string;

/** What survives an import unchanged: sender, createdAt and the text. */
export function messageKey(m: Pick<Message, "senderId" | "createdAt" | "text">): MessageKey {
  const hash = createHash("sha256")
    .update(m.text ?? "")
    .digest("hex")
    .slice(0, 32);
  return `${m.senderId ?? ""}\u0000${m.createdAt}\u0000${hash}`;
}

/** A bag of target messages by key, each key with the target ids still unclaimed. */
export class MessageBag {
  readonly #ids = new Map<MessageKey, string[]>();

  constructor(messages: Iterable<Pick<Message, "id" | "senderId" | "createdAt" | "text">>) {
    for (const m of messages) {
      const k = messageKey(m);
      const list = this.#ids.get(k);
      if (list) list.push(m.id);
      else this.#ids.set(k, [m.id]);
    }
  }

  /** Claims one target message with this key: its id, or null when none is left. */
  take(key: MessageKey, preferId?: string): string | null {
    const list = this.#ids.get(key);
    // Into the source app a message may still be there under its own id: that one, not a twin.
    const i = preferId === undefined ? -1 : (list?.indexOf(preferId) ?? -1);
    if (list && i >= 0) return list.splice(i, 1)[0] ?? null;
    const id = list?.shift();
    return id ?? null;
  }

  /** Claims the target message `id` (known from the ledger) so no other source message gets it. */
  claim(key: MessageKey, id: string): void {
    const list = this.#ids.get(key);
    const i = list?.indexOf(id) ?? -1;
    if (list && i >= 0) list.splice(i, 1);
  }
}

/**
 * Splits the source messages not yet known applied into those the target already has (claimed
 * from `bag`, with the target id) and those still to send, in source order. The messages the
 * ledger knows applied are claimed from the bag first, so their copies are not mistaken for the
 * missing ones.
 */
export function matchMissing(
  bag: MessageBag,
  applied: readonly Message[],
  todo: readonly Message[],
): { present: { message: Message; targetId: string }[]; missing: Message[] } {
  for (const m of applied) bag.take(messageKey(m), m.id);
  const present: { message: Message; targetId: string }[] = [];
  const missing: Message[] = [];
  for (const m of todo) {
    const id = bag.take(messageKey(m), m.id);
    if (id === null) missing.push(m);
    else present.push({ message: m, targetId: id });
  }
  return { present, missing };
}
