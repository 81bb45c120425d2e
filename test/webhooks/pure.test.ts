// The pure parts of webhooks: signature and timestamp checks, what an event asks to fetch, and
// coalescing. The receiver, inbox and consumer are tested over HTTP in webhooks.int.test.ts.
import { describe, expect, it } from "vitest";
import { inboxPathBeside } from "../../src/store/webhook-inbox.ts";
import { FailingItems, GIVE_UP_AFTER_MS, retryDelayMs } from "../../src/sync/webhooks/consume.ts";
import { coalesce, messageKey, planWebhook, splitMessageKey } from "../../src/sync/webhooks/plan.ts";
import {
  parseWebhookEvent,
  parseWebhookTimestamp,
  rejectStatus,
  signWebhook,
  verifyWebhook,
} from "../../src/sync/webhooks/verify.ts";

const KEY = "sk_test_current";
const OLD = "sk_test_previous";
const NOW = 1_800_000_000_000;
const body = Buffer.from('{"type":"message.sent","createdAt":1,"data":{}}');

describe("verifyWebhook", () => {
  const signed = (key: string, ts: string) => ({
    timestamp: ts,
    signature: signWebhook(key, ts, body),
    body,
  });

  it("accepts the current key and, during a rotation, the previous one", () => {
    expect(verifyWebhook({ ...signed(KEY, String(NOW)), secrets: [KEY], now: NOW })).toBeNull();
    expect(verifyWebhook({ ...signed(OLD, String(NOW)), secrets: [KEY, OLD], now: NOW })).toBeNull();
    expect(verifyWebhook({ ...signed(OLD, String(NOW)), secrets: [KEY], now: NOW })).toBe("bad_signature");
  });

  it("signs upper-case hex over timestamp + '.' + the raw bytes", () => {
    const s = signWebhook(KEY, "123", body);
    expect(s).toMatch(/^[0-9A-F]{64}$/);
    // Lower-case hex, another body or another timestamp do not verify.
    const base = { timestamp: "123", body, secrets: [KEY], now: 123_000 };
    expect(verifyWebhook({ ...base, signature: s })).toBeNull();
    expect(verifyWebhook({ ...base, signature: s.toLowerCase() })).toBe("bad_signature");
    expect(verifyWebhook({ ...base, signature: s, body: Buffer.from(`${body} `) })).toBe("bad_signature");
    expect(verifyWebhook({ ...base, signature: s, timestamp: "124" })).toBe("bad_signature");
    expect(verifyWebhook({ ...base, signature: s.slice(1) })).toBe("bad_signature");
    expect(verifyWebhook({ ...base, signature: undefined })).toBe("bad_signature");
  });

  it("rejects timestamps beyond ±5 minutes, in milliseconds or seconds", () => {
    const at = (ts: number) => verifyWebhook({ ...signed(KEY, String(ts)), secrets: [KEY], now: NOW });
    expect(at(NOW - 299_000)).toBeNull();
    expect(at(NOW + 299_000)).toBeNull();
    expect(at(NOW - 301_000)).toBe("stale_timestamp");
    expect(at(NOW + 301_000)).toBe("stale_timestamp");
    expect(at(NOW / 1000)).toBeNull(); // seconds
    expect(at(NOW / 1000 - 400)).toBe("stale_timestamp");
    expect(parseWebhookTimestamp("abc")).toBeNull();
    expect(parseWebhookTimestamp("1700000000")).toBe(1_700_000_000_000);
  });

  it("answers 401 for a signature and 400 for the rest", () => {
    expect(rejectStatus("bad_signature")).toBe(401);
    expect(rejectStatus("stale_timestamp")).toBe(400);
    expect(rejectStatus("oversize")).toBe(400);
    expect(rejectStatus("malformed")).toBe(400);
  });
});

describe("planWebhook", () => {
  const ev = (type: string, data: Record<string, unknown>) => ({ type, createdAt: 1, data });
  const opts = { mirrorUsers: true };

  it("message events name their conversation; an edit also the page that holds the message", () => {
    const data = { conversation: { id: "c1" }, message: { id: "m1", conversationId: "c1" } };
    expect(planWebhook(ev("message.sent", data), opts)).toEqual([{ kind: "hook_conversation", key: "c1" }]);
    expect(planWebhook(ev("message.deleted", data), opts)).toEqual([
      { kind: "hook_conversation", key: "c1" },
    ]);
    expect(planWebhook(ev("message.updated", data), opts)).toEqual([
      { kind: "hook_conversation", key: "c1" },
      { kind: "hook_message", key: messageKey("c1", "m1") },
    ]);
    // Without data.conversation, the message's conversationId.
    expect(planWebhook(ev("message.sent", { message: { id: "m", conversationId: "c2" } }), opts)).toEqual([
      { kind: "hook_conversation", key: "c2" },
    ]);
  });

  it("conversation.deleted asks for a GET; users only when mirrored; the rest nothing", () => {
    expect(planWebhook(ev("conversation.deleted", { conversation: { id: "c" } }), opts)).toEqual([
      { kind: "hook_conversation", key: "c" },
    ]);
    expect(planWebhook(ev("user.updated", { user: { id: "u" } }), opts)).toEqual([
      { kind: "hook_user", key: "u" },
    ]);
    expect(planWebhook(ev("user.created", { user: { id: "u" } }), { mirrorUsers: false })).toEqual([]);
    expect(planWebhook(ev("message.read", { conversation: { id: "c" } }), opts)).toEqual([]);
    expect(planWebhook(ev("notification.triggered", {}), opts)).toEqual([]);
    expect(planWebhook(ev("message.sent", { conversation: { id: 5 } }), opts)).toEqual([]);
  });

  it("coalesces many events for one conversation into one fetch, timed at the newest and the oldest", () => {
    const planned: Parameters<typeof coalesce>[0][number][] = Array.from({ length: 100 }, (_, i) => ({
      fetches: [{ kind: "hook_conversation", key: "c1" }],
      receivedAt: 1_000 + i,
    }));
    planned.push({ fetches: [{ kind: "hook_user", key: "c1" }], receivedAt: 5 });
    const items = coalesce(planned);
    expect(items).toHaveLength(2);
    const conversation = items.find((i) => i.kind === "hook_conversation");
    expect(conversation?.at.getTime()).toBe(1_099);
    expect(conversation?.firstAt.getTime()).toBe(1_000);
  });

  it("message keys round-trip; parse refuses what is not an event", () => {
    expect(splitMessageKey(messageKey("a/b ü", "m"))).toEqual({ conversationId: "a/b ü", messageId: "m" });
    expect(splitMessageKey("nope")).toBeNull();
    expect(parseWebhookEvent(Buffer.from("not json"))).toBeNull();
    expect(parseWebhookEvent(Buffer.from('{"type":"x"}'))).toBeNull();
    expect(parseWebhookEvent(Buffer.from('{"type":"x","data":{}}'))?.type).toBe("x");
    expect(inboxPathBeside("/d/mirror.db")).toBe("/d/mirror.webhooks.db");
  });

  it("holds a failing item back 1 s, doubling to at most 5 min, and forgets it on success", () => {
    expect([1, 2, 3, 4, 9, 10, 50].map(retryDelayMs)).toEqual([
      1_000, 2_000, 4_000, 8_000, 256_000, 300_000, 300_000,
    ]);
    const failing = new FailingItems();
    expect(failing.held("c", 0)).toBe(false);
    failing.failed("c", 0);
    expect([failing.held("c", 999), failing.held("c", 1_000)]).toEqual([true, false]);
    failing.failed("c", 1_000);
    expect([failing.held("c", 2_999), failing.held("c", 3_000)]).toEqual([true, false]);
    expect(failing.held("other", 0)).toBe(false);
    failing.succeeded("c");
    expect([failing.held("c", 1_001), failing.size]).toEqual([false, 0]);
  });

  it("gives a failing item up once it has failed for an hour", () => {
    const failing = new FailingItems();
    expect(failing.failed("c", 0)).toBe(false);
    expect(failing.failed("c", GIVE_UP_AFTER_MS - 1)).toBe(false);
    expect(failing.failed("c", GIVE_UP_AFTER_MS)).toBe(true);
    expect([failing.size, failing.held("c", GIVE_UP_AFTER_MS)]).toEqual([0, false]);
    // a success in between starts the hour again
    failing.failed("d", 0);
    failing.succeeded("d");
    expect(failing.failed("d", GIVE_UP_AFTER_MS)).toBe(false);
  });
});
