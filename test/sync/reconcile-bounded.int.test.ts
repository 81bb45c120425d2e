// Reconcile keeps memory O(page) (issue 15 item 6): candidates are confirmed, written back or
// marked a page at a time. Deletions spanning several candidate pages are all marked exactly, and
// the run keeps only counts and a short sample.
import { describe, expect, it } from "vitest";
import { runBackfill } from "../../src/sync/backfill.ts";
import { runReconcile } from "../../src/sync/reconcile.ts";
import { PROVIDERS, useStore } from "../helpers/db.ts";
import { expectMirrorEquals, SKEW_MS, useHarnesses } from "./harness.ts";

describe.each(PROVIDERS)("bounded reconcile on %s", (provider) => {
  const fixture = useStore(provider, { poolSize: 4 });
  const { skip } = fixture;
  const open = useHarnesses(fixture);

  it.skipIf(skip)("450 deletions (three candidate pages) are confirmed and marked exactly", async () => {
    const h = await open("exclusive", { conversations: 900, burst: 0 });
    await runBackfill(h.ctx, { clockSkewMs: SKEW_MS });
    const ids = h.sim
      .allConversations()
      .map((c) => c.id)
      .sort();
    for (const id of ids.filter((_, i) => i % 2 === 0)) h.sim.deleteConversation(id);
    const summary = await runReconcile(h.ctx, {
      maxDeleteShare: 0.6,
      allowMassDelete: false,
      confirmConcurrency: 8,
    });
    expect(summary.candidates).toBe(450);
    expect(summary.markedDeleted).toBe(450);
    await expectMirrorEquals(h, fixture.store, { deletedMustBeMarked: true });
    const logged = h.logLines.find((l) => l.includes("marked deleted in the mirror"));
    expect(JSON.parse(logged as string).sample).toHaveLength(10);
  });
});
