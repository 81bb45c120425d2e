// Parsing and validation of request bodies, as pure functions (query parameters: ./query.ts).
// Anything malformed becomes a `BadRequest` (400), so a client sending what TalkJS would refuse
// finds out here too.
import type { ConversationPatch, CustomPatch } from "./meta.ts";
import { BadRequest } from "./query.ts";
import type { SimulatedMessageInput } from "./types.ts";

export const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v);
const isStringOrNull = (v: unknown): v is string | null => v === null || typeof v === "string";

/** The JSON of a body; undefined for an empty (or blank) one. */
export function parseJsonBody(text: string): unknown {
  if (text.trim() === "") return undefined;
  try {
    return JSON.parse(text);
  } catch {
    throw new BadRequest("request body is not valid JSON");
  }
}

/** Validates a PUT body (the documented RequestBody); unknown fields are a 400. */
export function parseConversationPatch(body: unknown): ConversationPatch {
  if (body === undefined) return {};
  if (!isRecord(body)) throw new BadRequest("body must be a JSON object");
  const patch: ConversationPatch = {};
  for (const [key, v] of Object.entries(body)) {
    switch (key) {
      case "participants":
        if (!Array.isArray(v) || !v.every((u) => typeof u === "string" && u !== ""))
          throw new BadRequest("participants must be an array of user ids");
        patch.participants = v as string[];
        break;
      case "subject":
      case "photoUrl":
        if (!isStringOrNull(v)) throw new BadRequest(`${key} must be a string or null`);
        patch[key] = v;
        break;
      case "welcomeMessages":
        if (v !== null && !(Array.isArray(v) && v.every((s) => typeof s === "string")))
          throw new BadRequest("welcomeMessages must be an array of strings or null");
        patch.welcomeMessages = v as string[] | null;
        break;
      case "custom":
        if (v !== null && !(isRecord(v) && Object.values(v).every(isStringOrNull)))
          throw new BadRequest("custom must be an object of string (or null) values, or null");
        patch.custom = v as CustomPatch | null;
        break;
      default:
        throw new BadRequest(`unknown field "${key}"`);
    }
  }
  return patch;
}

/** Validates a POST .../messages body: an array of {text, sender?, type, custom?}, like TalkJS. */
export function parseMessagesBody(body: unknown): SimulatedMessageInput[] {
  if (!Array.isArray(body) || body.length === 0)
    throw new BadRequest("body must be a non-empty array of messages");
  return body.map((m, i) => {
    if (!isRecord(m)) throw new BadRequest(`message ${i} must be an object`);
    const { text, sender, type, custom } = m;
    if (typeof text !== "string") throw new BadRequest(`message ${i}: text must be a string`);
    if (type !== "UserMessage" && type !== "SystemMessage")
      throw new BadRequest(`message ${i}: type must be UserMessage or SystemMessage`);
    if (type === "UserMessage" && (typeof sender !== "string" || sender === ""))
      throw new BadRequest(`message ${i}: a UserMessage needs a sender`);
    if (
      custom !== undefined &&
      !(isRecord(custom) && Object.values(custom).every((x) => typeof x === "string"))
    )
      throw new BadRequest(`message ${i}: custom must be an object of strings`);
    return {
      text,
      type,
      senderId: type === "UserMessage" ? (sender as string) : null,
      ...(custom !== undefined ? { custom: custom as Record<string, string> } : {}),
    };
  });
}
