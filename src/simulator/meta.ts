// Conversation metadata (everything but the messages) and how a PUT changes it, as pure functions.
import type { ConversationUpdate } from "../talkjs/types.ts";
import type { ConversationMeta } from "./generator.ts";

/** `custom` of a PUT body: a null value deletes that key (our reading; the docs are silent). */
export type CustomPatch = Record<string, string | null>;
export type ConversationPatch = Omit<ConversationUpdate, "custom"> & { custom?: CustomPatch | null };

/** The metadata of a conversation created without any: no subject, no participants. */
export function emptyMeta(topicId: string | null): ConversationMeta {
  return { subject: null, photoUrl: null, welcomeMessages: null, custom: {}, participants: {}, topicId };
}

/**
 * PUT merge semantics, as a pure function: only the fields present change; participants are
 * added (new ones get ReadWrite + notify), never removed, existing ones keep their settings;
 * `custom` merges key by key, a null value deletes the key, and `custom: null` clears all.
 */
export function mergeMeta(meta: ConversationMeta, patch: ConversationPatch): ConversationMeta {
  const next: ConversationMeta = structuredClone(meta);
  if (patch.subject !== undefined) next.subject = patch.subject;
  if (patch.photoUrl !== undefined) next.photoUrl = patch.photoUrl;
  if (patch.welcomeMessages !== undefined) next.welcomeMessages = patch.welcomeMessages;
  if (patch.custom === null) next.custom = {};
  else if (patch.custom !== undefined) {
    for (const [k, v] of Object.entries(patch.custom)) {
      if (v === null) delete next.custom[k];
      else next.custom[k] = v;
    }
  }
  for (const user of patch.participants ?? []) {
    if (!Object.hasOwn(next.participants, user))
      next.participants[user] = { access: "ReadWrite", notify: true };
  }
  return next;
}
