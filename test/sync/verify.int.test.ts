// `verify` against the simulator over real HTTP, on SQLite and PostgreSQL: tampered rows are found
// exactly, an exact mirror passes with its bound, and a change at TalkJS since the last pass is
// "newer", not a difference — for conversations and, with --messages, for messages.
import { describe, expect, it } from "vitest";
import type { SyncSettings } from "../../src/config/index.ts";
import { sql, sqlJson } from "../../src/store/sql/shared.ts";
import { runMirrorJob } from "../../src/sync/jobs.ts";
import { differingUpperBound, runVerify } from "../../src/sync/verify.ts";
import { PROVIDERS, useStore } from "../helpers/db.ts";
import { SKEW_MS, useHarnesses } from "./harness.ts";

const SETTINGS: SyncSettings = {
  clockSkewMs: SKEW_MS,
  maxDeleteShare: 0.5,
  mirrorMessages: false,
  messageConcurrency: 4,
  backfillConcurrency: 1,
};

describe("differingUpperBound", () => {
  it("is the rule of three with no difference, exact Clopper–Pearson otherwise", () => {
    expect(differingUpperBound(0, 500)).toBeCloseTo(1 - 0.05 ** (1 / 500), 6);
    expect(differingUpperBound(0, 3000)).toBeLessThan(0.001);
    // 3 of 2,000: the one-sided 95% Clopper–Pearson upper bound is ≈ 0.387%.
    expect(differingUpperBound(3, 2000)).toBeCloseTo(0.00387, 4);
    expect(differingUpperBound(5, 5)).toBe(1);
  });
});

describe.each(PROVIDERS)("verify on %s", (provider) => {
  const fixture = useStore(provider, { poolSize: 4 });
  const { skip } = fixture;
  const open = useHarnesses(fixture);

  it.skipIf(skip)(
    "3 tampered rows among 2,000 are found exactly; deleted rows are still deleted",
    async () => {
      const h = await open("exclusive", { conversations: 1_995, burst: 5 });
      await runMirrorJob(h.ctx, "backfill", { settings: SETTINGS });
      const ids = h.sim
        .allConversations()
        .map((c) => c.id)
        .sort();
      // Deleted at TalkJS and marked in the mirror (what a reconcile does, without its full listing).
      const store = fixture.store;
      for (const id of ids.slice(0, 4)) h.sim.deleteConversation(id);
      expect(await store.markDeleted(h.appId, ids.slice(0, 4), new Date())).toBe(4);

      const pg = store.provider === "postgresql";
      const [a, b, c] = [ids[100], ids[900], ids[1500]] as [string, string, string];
      const ca = h.sim.conversation(a);
      await store.queryRaw(
        sql`UPDATE conversations SET raw = ${sqlJson(pg, { ...ca, subject: "tampered" })} WHERE app_id = ${h.appId} AND id = ${a}`,
      );
      await store.queryRaw(
        sql`UPDATE conversations SET content_hash = ${"0".repeat(64)} WHERE app_id = ${h.appId} AND id = ${b}`,
      );
      const cc = h.sim.conversation(c);
      await store.queryRaw(
        sql`UPDATE conversations SET raw = ${sqlJson(pg, { ...cc, participants: { intruder: { access: "ReadWrite", notify: true } } })} WHERE app_id = ${h.appId} AND id = ${c}`,
      );

      const summary = await runVerify(h.client, store, h.appId, {
        sample: 2_000,
        messages: false,
        seed: 7,
        concurrency: 16,
      });
      expect(summary).toMatchObject({
        population: 2_000,
        checked: 2_000,
        differing: 3,
        stillDeleted: 4,
        newer: 0,
        matching: 2_000 - 3 - 4,
        exact: true,
        differingBound: 3 / 2_000,
      });
      expect(summary.differences).toEqual([
        { id: a, fields: ["subject"] },
        { id: b, fields: ["content_hash"] },
        { id: c, fields: ["participants"] },
      ]);
    },
  );

  it.skipIf(skip)(
    "an exact mirror passes; a new message at TalkJS is newer, not differing; --messages names message fields, never text",
    async () => {
      const h = await open("exclusive", { conversations: 60, burst: 0 });
      await runMirrorJob(h.ctx, "backfill", { settings: { ...SETTINGS, mirrorMessages: true } });
      const store = fixture.store;

      const exact = await runVerify(h.client, store, h.appId, { sample: 20, messages: true, seed: 3 });
      expect(exact).toMatchObject({ checked: 20, matching: 20, differing: 0, newer: 0, exact: false });
      expect(exact.messagesChecked).toBeGreaterThan(0);
      expect(exact.differingBound).toBeCloseTo(1 - 0.05 ** (1 / 20), 6);
      // The same seed draws the same sample.
      const again = await runVerify(h.client, store, h.appId, { sample: 20, messages: false, seed: 3 });
      expect(again.checked).toBe(20);

      const withMessages = h.sim.allConversations().filter((c) => c.lastMessage !== null);
      const busy = withMessages[0]?.id as string;
      h.sim.addMessage(busy, { senderId: null, text: "after the last pass" });
      const quiet = withMessages[1]?.id as string;
      const victim = h.sim.messages(quiet).at(-1)?.id as string;
      await store.queryRaw(
        sql`UPDATE messages SET raw = ${sqlJson(store.provider === "postgresql", { ...h.sim.messages(quiet).at(-1), text: "secret tampered text" })}
          WHERE app_id = ${h.appId} AND id = ${victim}`,
      );

      const all = await runVerify(h.client, store, h.appId, { sample: 1_000, messages: true, seed: 1 });
      expect(all).toMatchObject({ checked: 60, newer: 1, differing: 1, exact: true });
      expect(all.differences).toEqual([{ id: `${quiet}/${victim}`, fields: ["text"] }]);
      expect(JSON.stringify(all)).not.toContain("secret tampered text");

      const plain = await runVerify(h.client, store, h.appId, { sample: 1_000, messages: false, seed: 1 });
      expect(plain).toMatchObject({ checked: 60, newer: 1, differing: 0 });
    },
  );
});
