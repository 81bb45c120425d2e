// The proven page size of the messages endpoint against the simulator over real HTTP, on SQLite
// and PostgreSQL: histories of 0, 1, 99, 100, 101 and 250 messages end exact against a server that
// honours `limit` and against ones that clamp it (at 100 and at 50), with the requests each costs;
// a server that starts clamping below the proven size revokes the proof, and the histories closed
// early are re-read in full.
import { beforeAll, describe, expect, it } from "vitest";
import type { SyncSettings } from "../../src/config/index.ts";
import type { Simulator } from "../../src/simulator/types.ts";
import type { Store } from "../../src/store/store.ts";
import { runMirrorJob } from "../../src/sync/jobs.ts";
import { isSampled } from "../../src/sync/page-proof.ts";
import { MESSAGE_PAGE_PROOF_STREAM } from "../../src/sync/streams.ts";
import { PROVIDERS, useStore } from "../helpers/db.ts";
import { expectMessagesEqual, type Harness, SKEW_MS, useHarnesses } from "./harness.ts";

const SETTINGS: SyncSettings = {
  clockSkewMs: SKEW_MS,
  maxDeleteShare: 0.5,
  mirrorMessages: true,
  messageConcurrency: 1,
  backfillConcurrency: 1,
};
const SIZES = [0, 1, 99, 100, 101, 250];

function requestsFor(sim: Simulator, conversationId: string): number {
  return sim.requestLog.filter(
    (r) =>
      /\/messages$/.test(r.path) && decodeURIComponent(r.path).includes(`/conversations/${conversationId}/`),
  ).length;
}

function addHistory(sim: Simulator, id: string, n: number, base: number): void {
  sim.createConversation({ id, createdAt: base, participants: ["u1", "u2"] });
  for (let i = 0; i < n; i++)
    sim.addMessage(id, { senderId: `u${(i % 2) + 1}`, text: `${id} m${i}`, createdAt: base + i });
}

const lastMessageId = (sim: Simulator, id: string): string => sim.conversation(id)?.lastMessage?.id ?? "";

describe.each(PROVIDERS)("proven message page size on %s", (provider) => {
  const fixture = useStore(provider, { poolSize: 4 });
  const { skip } = fixture;
  let store: Store;
  beforeAll(() => {
    if (!skip) store = fixture.store;
  });
  const open = useHarnesses(fixture);

  async function setup(sim: { limitMode: "reject" | "clamp"; maxMessageLimit: number }): Promise<Harness> {
    const h = await open("exclusive", { conversations: 0, burst: 0, sim });
    const base = Date.now() - 3_600_000;
    // First in id order (the message pass goes by id): a full page that proves the size, if it can.
    addHistory(h.sim, "a-prover", 100, base);
    for (const n of SIZES) addHistory(h.sim, `h${String(n).padStart(3, "0")}`, n, base + 1_000);
    return h;
  }

  const proofOf = async (h: Harness) => {
    const row = await store.getSyncState(h.appId, MESSAGE_PAGE_PROOF_STREAM);
    return row?.cursor ? (JSON.parse(row.cursor) as { pageSize: number }).pageSize : null;
  };

  it.skipIf(skip).each([
    ["honours limit", "reject", 100],
    ["clamps at 100", "clamp", 100],
  ] as const)(
    "a server that %s: a short page ends a history once 100 is proven",
    async (_, limitMode, max) => {
      const h = await setup({ limitMode, maxMessageLimit: max });
      await runMirrorJob(h.ctx, "backfill", { settings: SETTINGS });
      await expectMessagesEqual(h, store);
      expect(await proofOf(h)).toBe(100);
      expect(requestsFor(h.sim, "a-prover")).toBe(2); // a full page, then the empty one
      let total = 2;
      let withMessages = 1;
      for (const n of SIZES) {
        const id = `h${String(n).padStart(3, "0")}`;
        // Pages of 100 and, unless n is a multiple of 100, one short page that ends it; an empty
        // closing page after a full one, or for the sampled 1 in 50.
        const pages = Math.ceil(n / 100);
        const closing = n > 0 && (n % 100 === 0 || isSampled(id, lastMessageId(h.sim, id))) ? 1 : 0;
        expect([id, requestsFor(h.sim, id)]).toEqual([id, pages + closing]);
        total += pages + closing;
        if (n > 0) withMessages++;
      }
      // Today's cost was 2 + 2 + 2 + 2 + 3 + 4 = 15 (one closing request each).
      expect(total).toBeLessThanOrEqual(11);
      expect(total / withMessages).toBeLessThan(2);
      // The deep re-read that decides deletions never ends at a short page.
      h.sim.clearRequestLog();
      await runMirrorJob(h.ctx, "reconcile", { settings: SETTINGS, deepMessages: true });
      expect(requestsFor(h.sim, "h099")).toBe(2);
      expect(requestsFor(h.sim, "h101")).toBe(3);
    },
  );

  it.skipIf(skip)(
    "a server that clamps at 50: nothing is proven, every history ends at its empty page",
    async () => {
      const h = await setup({ limitMode: "clamp", maxMessageLimit: 50 });
      await runMirrorJob(h.ctx, "backfill", { settings: SETTINGS });
      await expectMessagesEqual(h, store);
      expect(await proofOf(h)).toBeNull();
      expect(requestsFor(h.sim, "a-prover")).toBe(3);
      for (const n of SIZES) {
        const id = `h${String(n).padStart(3, "0")}`;
        expect([id, requestsFor(h.sim, id)]).toEqual([id, n === 0 ? 0 : Math.ceil(n / 50) + 1]);
      }
    },
  );

  it.skipIf(skip)(
    "a server that starts clamping below the proven size: a sample revokes the proof, histories closed early are re-read",
    async () => {
      const h = await setup({ limitMode: "reject", maxMessageLimit: 100 });
      await runMirrorJob(h.ctx, "backfill", { settings: SETTINGS });
      expect(await proofOf(h)).toBe(100);
      h.sim.setOptions({ limitMode: "clamp", maxMessageLimit: 50 });
      const base = Date.now();
      // One history that closes early (not sampled) before, in id order, one that is sampled.
      let early = "";
      let sampled = "";
      for (let i = 0; (early === "" || sampled === "") && i < 2_000; i++) {
        const id = `${early === "" ? "b-early" : "c-sampled"}-${i}`;
        addHistory(h.sim, id, 70, base);
        const s = isSampled(id, lastMessageId(h.sim, id));
        if (early === "" && !s) early = id;
        else if (early !== "" && s) sampled = id;
        else h.sim.deleteConversation(id);
      }
      expect(sampled).not.toBe("");
      await runMirrorJob(h.ctx, "sync", { settings: SETTINGS });
      // The early one took a clamped page of 50 for the end; the sampled one asked again and saw more.
      expect(requestsFor(h.sim, early)).toBe(1);
      expect(h.logLines.some((l) => /proven page size is revoked/.test(l))).toBe(true);
      expect(await proofOf(h)).toBeNull();
      const missing = h.sim.messages(early).length - (await store.messages.liveIds(h.appId, early)).length;
      expect(missing).toBe(20);
      // The next pass re-reads what was closed early, to its empty page.
      await runMirrorJob(h.ctx, "sync", { settings: SETTINGS });
      await expectMessagesEqual(h, store);
      expect(requestsFor(h.sim, early)).toBe(1 + 3);
    },
  );
});
