import { afterEach, describe, expect, it } from "vitest";
import { startSimulator } from "../../src/simulator/index.ts";
import type { DeletedAnchorMode, OffsetTsMode, Simulator } from "../../src/simulator/types.ts";
import { createTalkJSClient, type TalkJSClient } from "../../src/talkjs/client.ts";
import { type PagerCursor, type PagerParams, pageConversations } from "../../src/talkjs/pagination.ts";

let sim: Simulator | undefined;
let client: TalkJSClient | undefined;
afterEach(async () => {
  await client?.close();
  await sim?.close();
});

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

async function setup(
  seed: number,
  mode: OffsetTsMode,
  limitMode: "reject" | "clamp" = "reject",
  deletedAnchor: DeletedAnchorMode = "continue",
): Promise<{ s: Simulator; c: TalkJSClient }> {
  const s = await startSimulator({ conversations: 120, seed, offsetTsMode: mode, limitMode, deletedAnchor });
  // Tie burst larger than a page: 75 conversations sharing one createdAt.
  const t = s.allConversations()[0]?.createdAt ?? 1_700_000_000_000;
  for (let i = 0; i < 75; i++)
    s.createConversation({ id: `burst-${seed}-${i}`, createdAt: t, participants: ["u1"] });
  const c = createTalkJSClient({
    appId: s.appId,
    secretKey: s.secretKey,
    baseUrl: s.url,
    rateLimit: { perSecond: 10_000, burst: 10_000 },
    retry: { minDelayMs: 1, maxDelayMs: 10 },
  });
  sim = s;
  client = c;
  return { s, c };
}

async function collect(
  c: TalkJSClient,
  params: PagerParams,
): Promise<{ ids: string[]; cursors: PagerCursor[] }> {
  const ids: string[] = [];
  const cursors: PagerCursor[] = [];
  for await (const page of pageConversations(c, params)) {
    ids.push(...page.conversations.map((x) => x.id));
    cursors.push(JSON.parse(JSON.stringify(page.cursor)) as PagerCursor);
  }
  return { ids, cursors };
}

const orders: Pick<PagerParams, "orderBy" | "orderDirection">[] = [
  { orderBy: "createdAt", orderDirection: "ASC" },
  { orderBy: "createdAt", orderDirection: "DESC" },
  { orderBy: "lastActivity", orderDirection: "ASC" },
];

describe("pagers, property-style", () => {
  for (const mode of ["inclusive", "exclusive"] as const) {
    for (const seed of [1, 2, 3]) {
      it(`no mutations: exactly once (${mode}, seed ${seed})`, async () => {
        const { s, c } = await setup(seed, mode);
        const expected = s
          .allConversations()
          .map((x) => x.id)
          .sort();
        for (const o of orders) {
          const { ids } = await collect(c, { ...o, pageSize: 30 });
          expect([...ids].sort(), `${o.orderBy} ${o.orderDirection}`).toEqual(expected);
        }
      });

      for (const anchor of ["continue", "empty", "reject"] as const)
        it(`with mutations: every survivor at least once (${mode}, seed ${seed}, deleted anchor ${anchor})`, async () => {
          const { s, c } = await setup(seed, mode, "reject", anchor);
          for (const o of orders) {
            const r = rng(seed * 31 + o.orderDirection.length);
            const start = new Set(s.allConversations().map((x) => x.id));
            const deleted = new Set<string>();
            let n = 0;
            s.onRequest(() => {
              const all = s.allConversations();
              const pick = all[Math.floor(r() * all.length)];
              const x = r();
              if (pick && x < 0.4) s.addMessage(pick.id, { senderId: "u1", text: "hi" });
              else if (x < 0.6) s.createConversation({ id: `new-${seed}-${n++}`, participants: ["u1"] });
              else if (pick && x < 0.75 && !pick.id.startsWith("burst")) {
                s.deleteConversation(pick.id);
                deleted.add(pick.id);
              }
            });
            const { ids } = await collect(c, { ...o, pageSize: 30 });
            s.onRequest(null);
            const got = new Set(ids);
            for (const id of start)
              if (!deleted.has(id)) expect(got.has(id), `${id} ${o.orderBy} ${o.orderDirection}`).toBe(true);
          }
        });
    }

    it(`resume from serialised cursor gives the same union (${mode})`, async () => {
      const { s, c } = await setup(9, mode);
      const o = { orderBy: "createdAt", orderDirection: "ASC" } as const;
      const first: string[] = [];
      let cursor: PagerCursor | undefined;
      let pages = 0;
      for await (const page of pageConversations(c, { ...o, pageSize: 20 })) {
        first.push(...page.conversations.map((x) => x.id));
        cursor = JSON.parse(JSON.stringify(page.cursor)) as PagerCursor;
        if (++pages === 4) break;
      }
      const rest = await collect(c, { ...o, pageSize: 20, ...(cursor ? { from: cursor } : {}) });
      const all = [...first, ...rest.ids];
      expect(new Set(all).size).toBe(all.length);
      expect(all.sort()).toEqual(
        s
          .allConversations()
          .map((x) => x.id)
          .sort(),
      );
    });
  }

  it("limit clamp: asking for more than the server gives still gets everything", async () => {
    const { s, c } = await setup(4, "exclusive", "clamp");
    const { ids } = await collect(c, { orderBy: "createdAt", orderDirection: "DESC", pageSize: 100 });
    expect(ids.sort()).toEqual(
      s
        .allConversations()
        .map((x) => x.id)
        .sort(),
    );
  });
});
