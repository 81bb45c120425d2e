import * as v from "valibot";

// valibot: typed, tiny, tree-shakable. We validate, then return the ORIGINAL parsed object
// so unknown fields survive (the store keeps the raw object).

const MessageSchema = v.looseObject({
  id: v.string(),
  conversationId: v.string(),
  createdAt: v.number(),
});

export const ConversationSchema = v.looseObject({
  id: v.string(),
  createdAt: v.number(),
  subject: v.optional(v.nullable(v.string())),
  custom: v.optional(v.nullable(v.record(v.string(), v.unknown()))),
  participants: v.optional(v.record(v.string(), v.unknown())),
  lastMessage: v.optional(v.nullable(MessageSchema)),
});

const stringList = v.optional(v.nullable(v.array(v.string())));

export const UserSchema = v.looseObject({
  id: v.string(),
  name: v.optional(v.nullable(v.string())),
  email: stringList,
  phone: stringList,
  role: v.optional(v.nullable(v.string())),
  locale: v.optional(v.nullable(v.string())),
  custom: v.optional(v.nullable(v.record(v.string(), v.unknown()))),
  createdAt: v.optional(v.nullable(v.number())),
});

export const UserPageSchema = v.looseObject({ data: v.array(UserSchema) });

export const ConversationPageSchema = v.looseObject({ data: v.array(ConversationSchema) });
export const MessagePageSchema = v.looseObject({ data: v.array(MessageSchema) });

/** Returns an issue summary, or null when valid. */
export function check(schema: v.GenericSchema, value: unknown): string | null {
  const r = v.safeParse(schema, value);
  if (r.success) return null;
  return r.issues
    .slice(0, 3)
    .map((i) => `${v.getDotPath(i) ?? "(root)"}: ${i.message}`)
    .join("; ");
}

/** The upload's answer: `{ fileToken }` (API doc, Files); `attachmentToken` accepted as well. */
export const FileTokenSchema = v.union([
  v.looseObject({ fileToken: v.pipe(v.string(), v.minLength(1)) }),
  v.looseObject({ attachmentToken: v.pipe(v.string(), v.minLength(1)) }),
]);
