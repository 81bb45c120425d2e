// The pager's normal step is startingAfter=<last id> (issue 14: as many list requests as plain
// startingAfter paging), the timestamp overlap its fallback when the anchor cannot be trusted, and
// the ids it keeps at the boundary are bounded (issue 15 item 6). Against the simulator over HTTP,
// under both readings of offsetTs and the three ways a server may answer a deleted anchor.
import { afterEach, describe, expect, it } from "vitest";
import { startSimulator } from "../../src/simulator/index.ts";
import type { DeletedAnchorMode, OffsetTsMode, Simulator } from "../../src/simulator/types.ts";
import { createTalkJSClient, type TalkJSClient } from "../../src/talkjs/client.ts";
import { type PagerParams, pageConversations, TIE_IDS_KEPT } from "../../src/talkjs/pagination.ts";

let sim: Simulator | undefined;
let client: TalkJSClient | undefined;
afterEach(async () => {
  await client?.close();
  await sim?.close();
  sim = undefined;
  client = undefined;
});

async function setup(options: {
  conversations: number;
  mode: OffsetTsMode;
  deletedAnchor?: DeletedAnchorMode;
  seed?: number;
}): Promise<{ s: Simulator; c: TalkJSClient }> {
  const s = await startSimulator({
    conversations: options.conversations,
    seed: options.seed ?? 5,
    offsetTsMode: options.mode,
    deletedAnchor: options.deletedAnchor ?? "continue",
  });
  const c = createTalkJSClient({
    appId: s.appId,
    secretKey: s.secretKey,
    baseUrl: s.url,
    rateLimit: { perSecond: 1_000_000, burst: 1_000_000 },
    retry: { minDelayMs: 1, maxDelayMs: 10 },
  });
  sim = s;
  client = c;
  return { s, c };
}

const listRequests = (s: Simulator) =>
  s.requestLog.filter((r) => r.method === "GET" && /\/conversations$/.test(r.path)).length;
const getRequests = (s: Simulator) =>
  s.requestLog.filter((r) => r.method === "GET" && /\/conversations\/[^/]+$/.test(r.path)).length;

/** Every id yielded (with repeats), and the largest serialised cursor handed out. */
async function collect(
  c: TalkJSClient,
  params: PagerParams,
): Promise<{ ids: string[]; maxCursorBytes: number }> {
  const ids: string[] = [];
  let maxCursorBytes = 0;
  for await (const page of pageConversations(c, params)) {
    ids.push(...page.conversations.map((x) => x.id));
    maxCursorBytes = Math.max(maxCursorBytes, Buffer.byteLength(JSON.stringify(page.cursor)));
  }
  return { ids, maxCursorBytes };
}

const MODES: OffsetTsMode[] = ["exclusive", "inclusive"];
const ANCHOR_MODES: DeletedAnchorMode[] = ["continue", "empty", "reject"];

describe("pager requests: as many list requests as plain startingAfter paging", () => {
  it("a 400 about something other than the anchor fails at once: one GET finds the anchor, no walk back", async () => {
    const { s, c } = await setup({ conversations: 200, mode: "exclusive" });
    const params: PagerParams = { orderBy: "createdAt", orderDirection: "ASC", pageSize: 30 };
    const pages = pageConversations(c, params);
    const first = await pages.next();
    expect(first.done).toBe(false);
    s.clearRequestLog();
    // Every later listing request is refused, whatever its anchor (the anchor still exists).
    s.addFault({
      fault: { kind: "status", status: 400 },
      probability: 1,
      match: { pathRegex: /\/conversations$/ },
    });
    await expect(pages.next()).rejects.toMatchObject({ code: "TALKJS_HTTP_400" });
    expect(listRequests(s)).toBe(1);
    expect(getRequests(s)).toBe(1);
  });

  for (const mode of MODES) {
    it(`1,000 conversations (offsetTs ${mode}): ceil(N/30) + 1 list requests and one GET at the end`, async () => {
      const { s, c } = await setup({ conversations: 1_000, mode });
      const { ids } = await collect(c, { orderBy: "createdAt", orderDirection: "ASC", pageSize: 30 });
      expect(ids).toHaveLength(1_000);
      expect(new Set(ids).size).toBe(1_000);
      // Plain paging: one request per 30 conversations, plus the empty page that ends it.
      expect(listRequests(s)).toBe(Math.ceil(1_000 / 30) + 1);
      // The empty page after an anchor is checked with one GET (was the anchor deleted?).
      expect(getRequests(s)).toBe(1);
      // No page was asked by timestamp: nothing asked twice.
      expect(s.requestLog.filter((r) => r.query.offsetTs !== undefined)).toHaveLength(0);
    });
  }
});

describe("a filtered listing (the anchor itself may leave it)", () => {
  for (const mode of MODES) {
    it(`offsetTs ${mode}: the empty page after the anchor is checked by timestamp, not by a GET`, async () => {
      const { s, c } = await setup({ conversations: 300, mode });
      // Every message so far is at or before `since`; the 40 added now are after it.
      const since = Math.max(...s.allConversations().map((x) => x.lastMessage?.createdAt ?? x.createdAt));
      expect(since).toBeLessThan(Date.now());
      const ids = s
        .allConversations()
        .map((x) => x.id)
        .sort();
      for (let i = 0; i < 40; i++) s.addMessage(ids[i * 7] as string, { senderId: "u1", text: `m${i}` });
      const { ids: got } = await collect(c, {
        orderBy: "createdAt",
        orderDirection: "ASC",
        lastMessageAfter: since,
        pageSize: 30,
      });
      expect(got.sort()).toEqual(Array.from({ length: 40 }, (_, i) => ids[i * 7]).sort());
      // Two pages, the empty answer after the anchor, one re-ask that ends on that anchor.
      expect(listRequests(s)).toBe(4);
      expect(getRequests(s)).toBe(0);
    });
  }
});

describe("anchor deleted mid-listing", () => {
  for (const mode of MODES) {
    for (const deletedAnchor of ANCHOR_MODES) {
      for (const orderDirection of ["ASC", "DESC"] as const) {
        it(`offsetTs ${mode}, deleted anchor answered "${deletedAnchor}", createdAt ${orderDirection}: every survivor exactly once`, async () => {
          const { s, c } = await setup({ conversations: 300, mode, deletedAnchor });
          // A tie group of 75 (more than two pages) in the middle of the app.
          const t = s.allConversations()[150]?.createdAt as number;
          for (let i = 0; i < 75; i++)
            s.createConversation({ id: `tie-${i}`, createdAt: t, participants: ["u1"] });
          const deleted = new Set<string>();
          let anchored = 0;
          s.onRequest((_n, entry) => {
            const anchor = entry.query.startingAfter;
            // Every third anchored listing request: its anchor is deleted just before the answer.
            if (anchor !== undefined && /\/conversations$/.test(entry.path) && ++anchored % 3 === 0) {
              if (s.deleteConversation(anchor)) deleted.add(anchor);
            }
          });
          const { ids, maxCursorBytes } = await collect(c, {
            orderBy: "createdAt",
            orderDirection,
            pageSize: 30,
          });
          s.onRequest(null);
          expect(deleted.size).toBeGreaterThan(3);
          const expected = s
            .allConversations()
            .map((x) => x.id)
            .sort();
          const survivors = ids.filter((id) => !deleted.has(id)).sort();
          expect(survivors).toEqual(expected);
          expect(new Set(ids).size).toBe(ids.length);
          expect(maxCursorBytes).toBeLessThan(4_096);
        });
      }
    }
  }
});

describe("a tie group of 20,000 conversations in one millisecond", () => {
  const N = 20_000;
  for (const mode of MODES) {
    for (const deletedAnchor of ["empty", "reject"] as const) {
      it(`offsetTs ${mode}, deleted anchor "${deletedAnchor}": all listed, cursor bounded, ~N/30 requests`, async () => {
        const { s, c } = await setup({ conversations: 40, mode, deletedAnchor });
        const t = (s.allConversations()[20]?.createdAt as number) + 1;
        for (let i = 0; i < N; i++)
          s.createConversation({
            id: `tie-${String(i).padStart(5, "0")}`,
            createdAt: t,
            participants: ["u1"],
          });
        const deleted = new Set<string>();
        let anchored = 0;
        s.onRequest((_n, entry) => {
          const anchor = entry.query.startingAfter;
          // Five times during the walk, the anchor is deleted just before its page is answered.
          if (anchor?.startsWith("tie-") && /\/conversations$/.test(entry.path) && ++anchored % 130 === 0) {
            if (s.deleteConversation(anchor)) deleted.add(anchor);
          }
        });
        const { ids, maxCursorBytes } = await collect(c, {
          orderBy: "createdAt",
          orderDirection: "ASC",
          pageSize: 30,
        });
        s.onRequest(null);
        expect(deleted.size).toBeGreaterThanOrEqual(4);
        const expected = s
          .allConversations()
          .map((x) => x.id)
          .sort();
        expect([...new Set(ids.filter((id) => !deleted.has(id)))].sort()).toEqual(expected);
        // Each lost anchor costs a GET (or a 400) and one page from the id before it: nothing of
        // the group is walked again, nothing repeated.
        expect(ids.length).toBe(new Set(ids).size);
        const total = expected.length + deleted.size;
        expect(listRequests(s)).toBeLessThanOrEqual(Math.ceil(total / 30) + 1 + 2 * deleted.size);
        // The cursor holds at most TIE_IDS_KEPT ids, however big the group: a few KB, not ~1 MB.
        expect(maxCursorBytes).toBeLessThan(TIE_IDS_KEPT * 12 + 200);
      });
    }
  }

  it("every id kept at the boundary is gone too: the group is re-asked by timestamp, nothing skipped", async () => {
    const { s, c } = await setup({ conversations: 10, mode: "inclusive", deletedAnchor: "empty" });
    const t = (s.allConversations()[5]?.createdAt as number) + 1;
    const n = 500;
    for (let i = 0; i < n; i++)
      s.createConversation({ id: `tie-${String(i).padStart(5, "0")}`, createdAt: t, participants: ["u1"] });
    const seen: string[] = [];
    const deleted = new Set<string>();
    let hit = false;
    for await (const page of pageConversations(c, {
      orderBy: "createdAt",
      orderDirection: "ASC",
      pageSize: 30,
    })) {
      seen.push(...page.conversations.map((x) => x.id));
      // After 300 of the group: delete every id the cursor keeps (worst case for the fallback).
      if (!hit && seen.filter((id) => id.startsWith("tie-")).length >= 300) {
        hit = true;
        for (const id of page.cursor.idsAtTs) if (s.deleteConversation(id)) deleted.add(id);
        expect(deleted.size).toBe(TIE_IDS_KEPT);
      }
    }
    const expected = s
      .allConversations()
      .map((x) => x.id)
      .sort();
    expect([...new Set(seen.filter((id) => !deleted.has(id)))].sort()).toEqual(expected);
  });
});
