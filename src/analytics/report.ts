// `talkjs-mirror report`: the questions people back chats up to ask, answered from the analytics
// views (prisma/migrations/*/…_analytics_views and …_message_views) with SQL that is identical on
// SQLite and PostgreSQL. Reads only the database. Rendering lives in ./render.ts and ./html.ts.
import { ConfigError } from "../errors.ts";
import * as q from "../store/sql/analytics.ts";
import { toNumber as num } from "../store/sql/shared.ts";
import type { Store } from "../store/store.ts";
import { type MirrorStatus, readStatus } from "../sync/status.ts";

export interface ReportOptions {
  /** Length of the per-day series, ending today (UTC). */
  days?: number;
  /** Rows in the "most active participants" list. */
  top?: number;
  /** A live conversation is dormant after this many days without activity. */
  dormantDays?: number;
  /** Break conversations down by this custom field ("category" for `--by custom.category`). */
  byCustomField?: string | undefined;
  /** The clock (ms); injectable so tests and reports of the past are deterministic. */
  now?: number;
}

export const REPORT_DEFAULTS = { days: 30, top: 10, dormantDays: 30 } as const;

export interface DayRow {
  day: string;
  created: number;
  active: number;
  deleted: number;
}

export interface MessageDayRow {
  day: string;
  /** Live messages sent that day. */
  messages: number;
  /** Distinct senders and conversations of those messages. */
  senders: number;
  conversations: number;
}

export interface ResponseTimes {
  /** Replies ever (see v_message_replies: a message answering someone else's message). */
  replies: number;
  /** Median wait for an answer over all replies, in ms; null without replies. */
  medianMs: number | null;
  /** Per day of the reply, oldest first, zero-filled (medianMs null on days without replies). */
  daily: { day: string; replies: number; medianMs: number | null }[];
  /** The participants who answered most, with their own median (all time). */
  bySender: { senderId: string; replies: number; medianMs: number }[];
}

export interface MessageReport {
  totals: {
    /** Messages not deleted, in conversations not deleted. */
    live: number;
    /** Messages a deep reconcile found deleted at TalkJS. */
    deleted: number;
    /** Messages (not deleted themselves) of conversations deleted at TalkJS. */
    inDeletedConversations: number;
    /** Live messages sent in the report's days. */
    inPeriod: number;
    /** Distinct conversations and senders of live messages. */
    conversations: number;
    senders: number;
  };
  daily: MessageDayRow[];
  /** Live messages by sender, all time, most first. */
  /** `name`: the sender's name when the user is mirrored (MIRROR_USERS), else null. */
  topSenders: {
    senderId: string;
    name: string | null;
    messages: number;
    conversations: number;
    lastMessageAt: string;
  }[];
  responseTimes: ResponseTimes;
}

export interface Report {
  appId: string;
  generatedAt: string;
  days: number;
  totals: {
    conversations: number;
    live: number;
    deleted: number;
    liveWithMessages: number;
    liveWithoutMessages: number;
    /** Distinct users in live conversations. */
    participants: number;
    /** Rows user × live conversation. */
    participations: number;
  };
  /** One row per day, oldest first, zero-filled; `active` = conversations whose latest activity fell that day. */
  daily: DayRow[];
  /** `name`: the participant's name when the user is mirrored (MIRROR_USERS), else null. */
  topParticipants: { userId: string; name: string | null; conversations: number; lastMessages: number }[];
  byCustom: { field: string; values: { value: string | null; conversations: number }[] } | null;
  dormant: {
    days: number;
    count: number;
    oldest: { id: string; subject: string | null; lastActivityAt: string }[];
  };
  deletions: { total: number; inPeriod: number };
  messages: MessageReport;
  /** Files messages point to: by archiving status, distinct files stored and their bytes. */
  files: MirrorStatus["files"];
  freshness: {
    backfillComplete: boolean;
    newestActivityAt: string | null;
    lagMs: number | null;
    lastSyncedAt: string | null;
    lastRuns: MirrorStatus["lastRuns"];
  };
}

const DAY_MS = 86_400_000;

/**
 * Text for a query parameter must not hold a NUL character: PostgreSQL refuses it in text (and
 * no TalkJS id or field name has one), so it gets a clean error naming where it came from rather
 * than a driver error. Every other character is fine: values are bound, never spliced into SQL.
 */
export function withoutNul(setting: string, value: string): string {
  if (value.includes("\u0000")) throw new ConfigError(setting, "must not contain a NUL character (U+0000)");
  return value;
}

export function utcDay(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

/** The last `days` UTC days ending with the one containing `now`, oldest first. */
export function dayRange(now: number, days: number): string[] {
  const today = Date.UTC(
    new Date(now).getUTCFullYear(),
    new Date(now).getUTCMonth(),
    new Date(now).getUTCDate(),
  );
  return Array.from({ length: days }, (_, i) => utcDay(today - (days - 1 - i) * DAY_MS));
}

function positive(name: string, value: number, max: number): number {
  if (!Number.isInteger(value) || value < 1 || value > max) {
    throw new ConfigError(name, `must be a whole number from 1 to ${max}, got ${value}`);
  }
  return value;
}

/** Reply medians as numbers: `key` the group (a day or a sender id), null for the overall one. */
async function replyMedians(
  store: Store,
  query: ReturnType<typeof q.replyMedians>,
): Promise<{ key: string | null; replies: number; medianMs: number }[]> {
  const rows = await store.queryRaw(query);
  return rows.map((r) => ({
    key: r.k === null ? null : String(r.k),
    replies: num(r.replies),
    // AVG is a float on SQLite and a numeric (a string from pg) on PostgreSQL: the same value.
    medianMs: Math.round(num(r.median_ms)),
  }));
}

async function buildMessageReport(
  store: Store,
  app: string,
  range: string[],
  top: number,
): Promise<MessageReport> {
  const first = range[0] as string;
  const [totals] = await store.queryRaw(q.messageTotals(app));
  const [spread] = await store.queryRaw(q.messageSpread(app));
  const dailyRows = await store.queryRaw(q.dailyMessages(app, first));
  const byDay = new Map(dailyRows.map((r) => [String(r.day), r]));
  const daily = range.map((day) => {
    const r = byDay.get(day);
    return {
      day,
      messages: num(r?.messages),
      senders: num(r?.senders),
      conversations: num(r?.conversations),
    };
  });
  const senders = await store.queryRaw(q.topSenders(app, top));
  const [overall] = await replyMedians(store, q.replyMedians(app, "all"));
  const perDay = new Map(
    (await replyMedians(store, q.replyMedians(app, "day", { sinceDay: first }))).map((m) => [m.key, m]),
  );
  const bySender = await replyMedians(store, q.replyMedians(app, "sender", { limit: top }));
  return {
    totals: {
      live: num(totals?.live),
      deleted: num(totals?.deleted),
      inDeletedConversations: num(totals?.in_deleted),
      inPeriod: daily.reduce((s, d) => s + d.messages, 0),
      conversations: num(spread?.conversations),
      senders: num(spread?.senders),
    },
    daily,
    topSenders: senders.map((r) => ({
      senderId: String(r.sender_id),
      name: r.sender_name === null || r.sender_name === undefined ? null : String(r.sender_name),
      messages: num(r.messages),
      conversations: num(r.conversations),
      lastMessageAt: new Date(num(r.last_at)).toISOString(),
    })),
    responseTimes: {
      replies: overall?.replies ?? 0,
      medianMs: overall?.medianMs ?? null,
      daily: range.map((day) => {
        const m = perDay.get(day);
        return { day, replies: m?.replies ?? 0, medianMs: m?.medianMs ?? null };
      }),
      bySender: bySender.map((m) => ({ senderId: String(m.key), replies: m.replies, medianMs: m.medianMs })),
    },
  };
}

export async function buildReport(store: Store, appId: string, options: ReportOptions = {}): Promise<Report> {
  const now = options.now ?? Date.now();
  const days = positive("--days", options.days ?? REPORT_DEFAULTS.days, 3660);
  const top = positive("--top", options.top ?? REPORT_DEFAULTS.top, 1000);
  const dormantDays = positive("--dormant-days", options.dormantDays ?? REPORT_DEFAULTS.dormantDays, 36_600);
  const app = withoutNul("TALKJS_APP_ID", appId);
  const range = dayRange(now, days);
  const first = range[0] as string;

  const [totals] = await store.queryRaw(q.conversationTotals(app));
  const [people] = await store.queryRaw(q.participantTotals(app));
  const dailyRows = await store.queryRaw(q.dailyActivity(app, first));
  const byDay = new Map(dailyRows.map((r) => [String(r.day), r]));
  const daily = range.map((day) => {
    const r = byDay.get(day);
    return { day, created: num(r?.created), active: num(r?.active), deleted: num(r?.deleted) };
  });
  const topRows = await store.queryRaw(q.topParticipants(app, top));
  let byCustom: Report["byCustom"] = null;
  if (options.byCustomField !== undefined) {
    const field = withoutNul("--by", options.byCustomField);
    // Conversations without the field show up as one "(none)" group.
    const rows = await store.queryRaw(q.conversationsByCustomField(app, field));
    byCustom = {
      field,
      values: rows.map((r) => ({
        value: r.value === null ? null : String(r.value),
        conversations: num(r.conversations),
      })),
    };
  }
  const cutoff = now - dormantDays * DAY_MS;
  const [dormantCount] = await store.queryRaw(q.dormantCount(app, cutoff));
  const oldest = await store.queryRaw(q.dormantOldest(app, cutoff, top));
  const messages = await buildMessageReport(store, app, range, top);
  const status = await readStatus(store, appId, now);
  const live = num(totals?.live);
  const withMessages = num(totals?.live_with_messages);
  return {
    appId,
    generatedAt: new Date(now).toISOString(),
    days,
    totals: {
      conversations: num(totals?.conversations),
      live,
      deleted: num(totals?.deleted),
      liveWithMessages: withMessages,
      liveWithoutMessages: live - withMessages,
      participants: num(people?.participants),
      participations: num(people?.participations),
    },
    daily,
    topParticipants: topRows.map((r) => ({
      userId: String(r.user_id),
      name: r.user_name === null || r.user_name === undefined ? null : String(r.user_name),
      conversations: num(r.conversations),
      lastMessages: num(r.last_messages),
    })),
    byCustom,
    dormant: {
      days: dormantDays,
      count: num(dormantCount?.n),
      oldest: oldest.map((r) => ({
        id: String(r.id),
        subject: r.subject === null ? null : String(r.subject),
        lastActivityAt: new Date(num(r.last_activity_at_ms)).toISOString(),
      })),
    },
    deletions: { total: num(totals?.deleted), inPeriod: daily.reduce((s, d) => s + d.deleted, 0) },
    messages,
    files: status.files,
    freshness: {
      backfillComplete: status.backfillComplete,
      newestActivityAt: status.newestActivityAt,
      lagMs: status.lagMs,
      lastSyncedAt: status.lastSyncedAt,
      lastRuns: status.lastRuns,
    },
  };
}

/** `--by custom.category` → "category"; anything else is a usage error naming the flag. */
export function parseByFlag(raw: string): string {
  const m = /^custom\.(.+)$/.exec(raw);
  if (!m?.[1]) {
    throw new ConfigError("--by", `"${raw}" is not supported: use custom.FIELD, e.g. --by custom.category`);
  }
  return m[1];
}
