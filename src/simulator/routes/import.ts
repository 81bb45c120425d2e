// POST /v1/{appId}/import/conversations/{id}/messages: messages with their original timestamps.
// Like TalkJS it is NOT idempotent (the same batch twice is two copies), assigns new ids, refuses
// system messages, and sends no notifications. It accepts ONE payload shape, the app's
// `importing.shape` (the docs and TalkJS's own transfer script disagree, see types.ts ImportShape),
// and at most `importing.maxBatch` messages per request. The batch is validated whole before any
// message is added, so a refused request changed nothing.
import type { UserId } from "../../talkjs/types.ts";
import { isRecord, parseJsonBody } from "../body.ts";
import { errorReply, ok } from "../http.ts";
import { BadRequest } from "../query.ts";
import { type ApiRequest, byMethod, type Route, route } from "../router.ts";
import type { ImportShape, SimulatedMessageInput } from "../types.ts";

const isStringArray = (v: unknown): v is string[] =>
  Array.isArray(v) && v.every((x) => typeof x === "string");
const isCustom = (v: unknown): v is Record<string, string> =>
  isRecord(v) && Object.values(v).every((x) => typeof x === "string");

/** The file a fileToken of this app stands for; an unknown token is a 400 (nothing is imported). */
export type TokenLookup = (token: string) => { url: string; size: number; filename: string } | undefined;

const noTokens: TokenLookup = () => undefined;

function fileOf(token: unknown, i: number, lookup: TokenLookup) {
  if (typeof token !== "string" || token === "")
    throw new BadRequest(`message ${i}: a file token must be a string`);
  const file = lookup(token);
  if (!file)
    throw new BadRequest(`message ${i}: unknown file token "${token}" (upload it to this app first)`);
  return file;
}

/** One import item in `shape`, as the message it becomes; a BadRequest for anything TalkJS refuses. */
export function parseImportItem(
  item: unknown,
  i: number,
  shape: ImportShape,
  lookup: TokenLookup = noTokens,
): SimulatedMessageInput {
  if (!isRecord(item)) throw new BadRequest(`message ${i} must be an object`);
  const type = item.type ?? "UserMessage";
  if (type !== "UserMessage")
    throw new BadRequest(`message ${i}: only UserMessage can be imported (system messages cannot)`);
  const { sender, readBy, custom } = item;
  if (typeof sender !== "string" || sender === "") throw new BadRequest(`message ${i}: sender is required`);
  if (readBy !== undefined && !isStringArray(readBy))
    throw new BadRequest(`message ${i}: readBy must be an array of user ids`);
  if (custom !== undefined && !isCustom(custom))
    throw new BadRequest(`message ${i}: custom must be an object of strings`);
  const base = {
    senderId: sender as UserId,
    type: "UserMessage" as const,
    origin: "import" as const,
    readBy: ((readBy as string[] | undefined) ?? []).filter((u) => u !== sender),
    ...(custom !== undefined ? { custom: custom as Record<string, string> } : {}),
  };
  if (shape === "documented") {
    for (const k of Object.keys(item))
      if (!["text", "sender", "timestamp", "readBy", "type", "attachmentToken", "custom"].includes(k))
        throw new BadRequest(`message ${i}: unknown field "${k}" (this endpoint takes the documented shape)`);
    const { text, timestamp } = item;
    if (typeof text !== "string") throw new BadRequest(`message ${i}: text must be a string`);
    if (typeof timestamp !== "number" || !Number.isInteger(timestamp) || timestamp < 0)
      throw new BadRequest(`message ${i}: timestamp must be Unix milliseconds`);
    if (item.attachmentToken === undefined) return { ...base, text, createdAt: timestamp };
    const file = fileOf(item.attachmentToken, i, lookup);
    return { ...base, text, createdAt: timestamp, attachment: { url: file.url, size: file.size } };
  }
  for (const k of Object.keys(item))
    if (!["sender", "createdAt", "content", "readBy", "type", "custom"].includes(k))
      throw new BadRequest(`message ${i}: unknown field "${k}" (this endpoint takes the script's shape)`);
  const { createdAt, content } = item;
  if (typeof createdAt !== "number" || !Number.isInteger(createdAt) || createdAt < 0)
    throw new BadRequest(`message ${i}: createdAt must be Unix milliseconds`);
  if (!Array.isArray(content) || content.length === 0 || !content.every(isRecord))
    throw new BadRequest(`message ${i}: content must be a non-empty array of blocks`);
  // A file block names its file by token; it becomes the uploaded file's url, size and filename.
  const blocks = content.map((b) => {
    if (b.type !== "file") return b;
    const file = fileOf(b.fileToken, i, lookup);
    return { ...b, url: file.url, size: file.size, filename: file.filename };
  });
  return { ...base, text: textOfBlocks(blocks), content: blocks, createdAt };
}

/** The plain text of content blocks (what `text` shows for a message sent as blocks). */
export function textOfBlocks(blocks: readonly unknown[]): string {
  const out: string[] = [];
  const walk = (node: unknown): void => {
    if (typeof node === "string") out.push(node);
    else if (isRecord(node)) {
      if (typeof node.text === "string") out.push(node.text);
      if (Array.isArray(node.children)) for (const c of node.children) walk(c);
    }
  };
  for (const b of blocks) walk(b);
  return out.join("");
}

function importMessages({ app, param, body }: ApiRequest) {
  const id = param("conversationId");
  if (!app.store.has(id)) return errorReply(404, `no conversation "${id}"`);
  const json = parseJsonBody(body);
  if (!Array.isArray(json) || json.length === 0)
    throw new BadRequest("body must be a non-empty array of messages");
  if (json.length > app.importing.maxBatch)
    throw new BadRequest(`at most ${app.importing.maxBatch} messages per import request`);
  const lookup: TokenLookup = (token) => app.files.byToken(token);
  const inputs = json.map((m, i) => parseImportItem(m, i, app.importing.shape, lookup));
  for (const m of inputs) app.store.addMessage(id, m);
  return ok();
}

export const importRoutes: Route[] = [
  route("import/conversations/:conversationId/messages", byMethod({ POST: importMessages })),
];
