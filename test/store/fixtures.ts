import type { Conversation, Participant } from "../../src/talkjs/types.ts";

export const T0 = Date.UTC(2026, 0, 15, 12, 30, 45, 123);

export function makeConversation(id: string, overrides: Partial<Conversation> = {}): Conversation {
  return {
    id,
    subject: `Subject of ${id}`,
    photoUrl: null,
    welcomeMessages: ["Welcome!"],
    custom: { category: "support", region: "eu" },
    lastMessage: {
      id: `msg_${id}`,
      conversationId: id,
      type: "UserMessage",
      senderId: "alice",
      readBy: ["bob"],
      text: "hello",
      attachment: null,
      location: null,
      origin: "web",
      createdAt: T0 + 60_000,
      editedAt: null,
      referencedMessageId: null,
      custom: {},
    },
    participants: {
      alice: { access: "ReadWrite", notify: true },
      bob: { access: "Read", notify: false },
    } satisfies Record<string, Participant>,
    createdAt: T0,
    topicId: null,
    ...overrides,
  };
}
