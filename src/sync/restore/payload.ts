// The import endpoint's payload, in either shape. Only what the endpoint takes: sender, original
// timestamp, text (or text blocks), readBy (minus the sender), custom.
import { createHash } from "node:crypto";
import type { Message } from "../../talkjs/types.ts";
import type { ImportShape } from "./types.ts";

export function importItem(m: Message, shape: ImportShape): Record<string, unknown> {
  const readBy = m.readBy.filter((u) => u !== m.senderId);
  const custom = Object.keys(m.custom ?? {}).length > 0 ? { custom: m.custom } : {};
  if (shape === "documented")
    return {
      text: m.text ?? "",
      sender: m.senderId,
      timestamp: m.createdAt,
      readBy,
      type: "UserMessage",
      ...custom,
    };
  return {
    sender: m.senderId,
    createdAt: m.createdAt,
    content: [{ type: "text", children: [m.text ?? ""] }],
    readBy,
    type: "UserMessage",
    ...custom,
  };
}

/** sha256 of a request body: the ledger's fingerprint of the request a row went in. */
export function fingerprint(body: unknown): string {
  return createHash("sha256").update(JSON.stringify(body)).digest("hex");
}
