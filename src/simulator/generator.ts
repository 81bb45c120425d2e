// Seeded, deterministic generation of a realistic TalkJS app.
//
// Scale matters (up to 1,000,000 conversations), so generation is split in two:
// - `generateSkeletons` makes, eagerly, only what ordering needs: id, createdAt, the last
//   message's time and the number of messages. That is one small object per conversation.
// - Everything else (participants, subject, custom fields, the message history) is derived on
//   demand from (seed, index) by pure functions, so it costs nothing until someone looks, and
//   looking twice gives the same answer. The newest generated message is pinned to the
//   skeleton's `lastMessageAt`, which keeps `lastMessage` consistent with the history.
import type { Message, MessageOrigin, Participant, ParticipantAccess, UserId } from "../talkjs/types.ts";

/** mulberry32: tiny, fast, good enough for test data, and identical on every platform. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Mixes several integers into one 32-bit seed (so each conversation/message gets its own stream). */
export function mixSeed(...parts: number[]): number {
  let h = 0x811c9dc5;
  for (const part of parts) {
    h = Math.imul(h ^ (part >>> 0), 0x01000193);
    h ^= h >>> 13;
    h = Math.imul(h, 0x5bd1e995);
    h ^= h >>> 15;
  }
  return h >>> 0;
}

type Rng = () => number;
const int = (rng: Rng, min: number, max: number): number => min + Math.floor(rng() * (max - min + 1));
function pick<T>(rng: Rng, items: readonly T[]): T {
  return items[Math.floor(rng() * items.length)] as T;
}

const DAY = 86_400_000;
const TWO_YEARS = 730 * DAY;

/** What ordering and paging need, generated eagerly for every conversation. */
export interface Skeleton {
  id: string;
  /** Position in the generated app; meta and messages are derived from it. */
  index: number;
  createdAt: number;
  /** createdAt of the newest message, null for a conversation without messages. */
  lastMessageAt: number | null;
  messageCount: number;
}

/** Ids that break naive URL handling; a few generated conversations get one of these (plus a suffix). */
export const NASTY_ID_STEMS = [
  "support/ticket",
  "what?is=this",
  "room #1",
  "100%done",
  "café-ünïcode",
  "日本語の会話",
  "chat 💬 emoji",
  "a/b/../c",
  "plus+sign&amp",
];

/** A unique, random-looking `conv_<base36>` id: an odd multiplier is a bijection modulo 2^32. */
function plainId(index: number, seed: number): string {
  const scrambled = (Math.imul(index + 1, 0x9e3779b1) ^ mixSeed(seed)) >>> 0;
  // index in the suffix keeps ids unique even though the xor could collide across seeds
  return `conv_${scrambled.toString(36).padStart(7, "0")}${index.toString(36)}`;
}

export function conversationIdFor(index: number, seed: number): string {
  if (index % 997 === 5) {
    const stem = NASTY_ID_STEMS[Math.floor(index / 997) % NASTY_ID_STEMS.length] as string;
    return `${stem}_${index}`;
  }
  return plainId(index, seed);
}

/**
 * The ordering skeleton of a generated app, deterministic in (count, seed, now).
 * Timestamps spread over ~2 years ending at `now`, with heavy ties: bulk-import bursts where
 * 100–500 conversations share one millisecond (the first group is always such a burst when the
 * app is big enough, so tests can rely on it), imported last messages at exactly createdAt,
 * and broadcast messages that land in many conversations at the same millisecond.
 */
export function generateSkeletons(count: number, seed: number, now: number): Skeleton[] {
  const rng = mulberry32(mixSeed(seed, 1));
  const start = now - TWO_YEARS;
  const broadcasts = Array.from({ length: 12 }, () => now - int(rng, 1, 30 * DAY));
  const out: Skeleton[] = new Array(count);
  let index = 0;
  let group = 0;
  while (index < count) {
    const burst = (group === 0 && count >= 200) || rng() < 0.0012;
    const size = burst ? Math.min(count - index, int(rng, 100, 500)) : 1;
    const groupCreatedAt = start + Math.floor(rng() * (TWO_YEARS - 3_600_000));
    for (let k = 0; k < size; k++, index++) {
      const createdAt = groupCreatedAt;
      let lastMessageAt: number | null = null;
      let messageCount = 0;
      if (rng() >= 0.2) {
        const u = rng();
        // long tail: mostly a handful, sometimes hundreds, rarely thousands (one draw either way,
        // so the rest of the app does not change with the branch taken)
        messageCount =
          u < 0.002
            ? int(rng, 1_000, 3_000)
            : u < 0.02
              ? int(rng, 100, 400)
              : 1 + Math.floor(-Math.log(1 - rng()) * 10);
        const r = rng();
        if (burst && r < 0.3) {
          lastMessageAt = createdAt; // imported history ending at import time
        } else if (r < 0.36) {
          const b = pick(rng, broadcasts);
          lastMessageAt = Math.max(b, createdAt);
        } else {
          lastMessageAt = createdAt + Math.floor(rng() * (now - createdAt));
        }
      }
      out[index] = { id: conversationIdFor(index, seed), index, createdAt, lastMessageAt, messageCount };
    }
    group++;
  }
  return out;
}

/** The parts of a Conversation that are not about ordering. */
export interface ConversationMeta {
  subject: string | null;
  photoUrl: string | null;
  welcomeMessages: string[] | null;
  custom: Record<string, string>;
  participants: Record<UserId, Participant>;
  topicId: string | null;
}

const SUBJECTS = [
  "Order question",
  "Shipping delay",
  "Return request for size 42",
  "Café réservation — ça marche?",
  "Größenfrage zum Schuh",
  "配送について",
  "关于退款的问题",
  "مرحبا، لدي سؤال عن طلبي",
  "שלום, שאלה לגבי ההזמנה",
  "🎉 Launch party planning 🚀",
  "👟👟 sneakers?",
  "Zalgo t̷̡e̵x̶t̴",
  "Re: Re: Fwd: Invoice #12345",
  "Mixed: order 42 طلب رقم שלום",
];
const CATEGORIES = ["shoes", "bags", "support", "sales", "billing"];
const PRIORITIES = ["low", "normal", "high"];
const WELCOME = ["Welcome! How can we help?", "Hi 👋 we usually answer within a day.", "مرحبا بك"];
const TEXTS = [
  "Hi there!",
  "Is this still available?",
  "Thanks, that helps a lot 🙏",
  "When will it ship?",
  "Can I return it?",
  "Sure, I'll check and get back to you.",
  "ok",
  "שלום! מה שלומך?",
  "شكرا جزيلا",
  "Ça marche, à demain.",
  "了解しました。",
  "Line one\nLine two\n\tindented",
  "Quotes \"double\" and 'single' and \\backslash",
];

export function userPoolSize(conversationCount: number): number {
  return Math.max(20, Math.floor(conversationCount / 3));
}

export function userId(n: number): UserId {
  return `user_${String(n).padStart(5, "0")}`;
}

/**
 * Draws 2–8 participants as pool numbers: the first draws of a conversation's metadata stream.
 * Plain numbers (no objects, no strings) because building the user index touches every
 * conversation of a possibly 1M-conversation app.
 */
function drawParticipants(
  rng: Rng,
  poolSize: number,
  out: (user: number, access: ParticipantAccess, notify: boolean) => void,
): void {
  const n = int(rng, 2, 8); // poolSize >= 20, so n distinct users always exist
  const seen: number[] = [];
  for (let k = 0; k < n; k++) {
    let user = int(rng, 0, poolSize - 1);
    while (seen.includes(user)) user = int(rng, 0, poolSize - 1);
    seen.push(user);
    const a = rng();
    const access: ParticipantAccess = k === 0 || a < 0.85 ? "ReadWrite" : a < 0.95 ? "Read" : "None";
    out(user, access, rng() < 0.7);
  }
}

/** Pool numbers of the participants of generated conversation `index` (as in generateMeta, but cheap). */
export function generateParticipantNumbers(seed: number, index: number, poolSize: number): number[] {
  const users: number[] = [];
  drawParticipants(mulberry32(mixSeed(seed, 2, index)), poolSize, (u) => users.push(u));
  return users;
}

/** Metadata of generated conversation `index`, a pure function of (seed, index, pool size). */
export function generateMeta(seed: number, index: number, poolSize: number): ConversationMeta {
  const rng = mulberry32(mixSeed(seed, 2, index));
  const participants: Record<UserId, Participant> = {};
  drawParticipants(rng, poolSize, (u, access, notify) => {
    participants[userId(u)] = { access, notify };
  });
  const s = rng();
  let subject: string | null;
  if (s < 0.15) subject = null;
  else if (s < 0.2)
    subject = `${pick(rng, SUBJECTS)} ${"very long subject ".repeat(int(rng, 20, 60))}`.trim();
  else subject = pick(rng, SUBJECTS);
  const custom: Record<string, string> = {};
  if (rng() < 0.8) custom.category = pick(rng, CATEGORIES);
  if (rng() < 0.5) custom.priority = pick(rng, PRIORITIES);
  if (rng() < 0.4) custom.orderId = String(int(rng, 10_000, 99_999));
  return {
    subject,
    photoUrl: rng() < 0.3 ? `https://example.com/photos/${index}.png` : null,
    welcomeMessages: rng() < 0.25 ? [pick(rng, WELCOME)] : null,
    custom,
    participants,
    topicId: rng() < 0.4 ? `topic_${int(rng, 1, 50)}` : null,
  };
}

export function generatedMessageId(index: number, seq: number): string {
  return `msg_g${index.toString(36)}_${seq.toString(36)}`;
}

/**
 * The whole message history of a generated conversation, newest first. Message 0 is at
 * exactly `skeleton.lastMessageAt` (`take` = 1 gives just the lastMessage); older ones step back in time but never before createdAt.
 */
export function generateMessages(
  seed: number,
  skeleton: Skeleton,
  meta: ConversationMeta,
  take = Number.POSITIVE_INFINITY,
  fileBaseUrl = "https://files.example.com",
): Message[] {
  const { lastMessageAt, messageCount, createdAt, index, id } = skeleton;
  if (lastMessageAt === null || messageCount === 0) return [];
  const rng = mulberry32(mixSeed(seed, 3, index));
  const users = Object.keys(meta.participants);
  const span = Math.max(0, lastMessageAt - createdAt);
  const out: Message[] = [];
  let t = lastMessageAt;
  // `take` stops early: the stream is consumed newest-first, so a prefix is identical either way
  for (let i = 0; i < Math.min(messageCount, take); i++) {
    const seq = messageCount - 1 - i; // 0 = oldest
    if (i > 0) t = Math.max(createdAt, t - Math.floor((rng() * 2 * span) / messageCount));
    const system = rng() < 0.05;
    const senderId = system ? null : (pick(rng, users) ?? null);
    const readBy = users.filter((u) => u !== senderId && rng() < 0.6);
    const hasAttachment = rng() < 0.05;
    let attachment: Message["attachment"] = null;
    if (hasAttachment) {
      // The old 5 MB size draw is still taken (and dropped) so every later draw, and so every
      // other seeded value, stays what it was; the file itself comes from its own stream.
      int(rng, 100, 5_000_000);
      attachment = generatedAttachment(seed, index, seq, fileBaseUrl);
    }
    const origins: MessageOrigin[] = ["web", "web", "web", "rest", "email", "import"];
    out.push({
      id: generatedMessageId(index, seq),
      conversationId: id,
      type: system ? "SystemMessage" : "UserMessage",
      senderId,
      readBy,
      text: hasAttachment ? "" : pick(rng, TEXTS),
      attachment,
      location: rng() < 0.01 ? [52.37, 4.89] : null,
      origin: pick(rng, origins),
      createdAt: t,
      editedAt: rng() < 0.05 ? t + int(rng, 1000, 60_000) : null,
      referencedMessageId: seq > 0 && rng() < 0.1 ? generatedMessageId(index, seq - 1) : null,
      custom: rng() < 0.1 ? { source: "generator" } : {},
    });
  }
  return out;
}

/** Generated attachments are at most this big, so a demo or test never downloads much. */
export const MAX_GENERATED_FILE_BYTES = 64 * 1024;

/** The id under /files/ of a generated message's attachment. */
export function generatedFileId(index: number, seq: number): string {
  return `g${index.toString(36)}_${seq.toString(36)}`;
}

/**
 * The attachment of generated message (index, seq): its size from the file's own random stream
 * (mixSeed(seed, 7, …)), so files can change without moving any other seeded value.
 */
export function generatedAttachment(seed: number, index: number, seq: number, fileBaseUrl: string) {
  const size = int(mulberry32(mixSeed(seed, 7, index, seq)), 100, MAX_GENERATED_FILE_BYTES);
  return { url: `${fileBaseUrl}/files/${generatedFileId(index, seq)}/file_${index}_${seq}.pdf`, size };
}
