// The import endpoint's payload, in either shape. Only what the endpoint takes: sender, original
// timestamp, text (or text blocks), readBy (minus the sender), custom.
import type { Message } from "../../talkjs/types.ts";
import type { ImportShape } from "./types.ts";

/**
 * `fileTokens`: the target's tokens of the message's archived files (attachment first, then file
 * blocks). The documented shape carries one (`attachmentToken`); the script's shape a file block each.
 */
export function importItem(
  m: Message,
  shape: ImportShape,
  fileTokens: readonly string[] = [],
): Record<string, unknown> {
  const readBy = m.readBy.filter((u) => u !== m.senderId);
  const custom = Object.keys(m.custom ?? {}).length > 0 ? { custom: m.custom } : {};
  if (shape === "documented")
    return {
      text: m.text ?? "",
      sender: m.senderId,
      timestamp: m.createdAt,
      readBy,
      type: "UserMessage",
      ...(fileTokens[0] === undefined ? {} : { attachmentToken: fileTokens[0] }),
      ...custom,
    };
  const text = m.text ?? "";
  const files = fileTokens.map((fileToken) => ({ type: "file", fileToken }));
  return {
    sender: m.senderId,
    createdAt: m.createdAt,
    content: [...(text !== "" || files.length === 0 ? [{ type: "text", children: [text] }] : []), ...files],
    readBy,
    type: "UserMessage",
    ...custom,
  };
}
