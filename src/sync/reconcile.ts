// Reconcile: a full listing that refreshes every row (the only way to see metadata-only edits:
// subject, custom, participants) and then detects remote deletions by mark-and-sweep. The rows the
// listing touches carry this run's id; a live row without it is a CANDIDATE, and becomes a deletion
// only if the listing ran to its end AND a GET of that id answers 404 AND the total stays under the
// configured share of the mirror. A truncated or failed listing must never wipe a backup.
import { MirrorError } from "../errors.ts";
import { pageConversations } from "../talkjs/pagination.ts";
import type { Conversation } from "../talkjs/types.ts";
import { mapLimited } from "./limit.ts";
import { mergePages, pipelinePages } from "./pipeline.ts";
import { decideSweep, type SweepDecision } from "./policy.ts";
import { addPage, clock, type RunSummary, recordedRun, type SyncContext } from "./run.ts";
import { RECONCILE_STREAM } from "./streams.ts";

export interface ReconcileOptions {
  /** Largest share (0..1) of the live mirror one reconcile may mark deleted. */
  maxDeleteShare: number;
  allowMassDelete: boolean;
  /** GETs in flight while confirming candidates (the client's own limits still apply). */
  confirmConcurrency?: number;
}

export interface ReconcileSummary extends RunSummary {
  /** Live rows absent from the listing, before confirmation. */
  candidates: number;
}

/** Candidate ids are read from the database in pages of this size: memory stays flat. */
const CANDIDATE_PAGE = 200;

export async function runReconcile(ctx: SyncContext, options: ReconcileOptions): Promise<ReconcileSummary> {
  const { store, appId, client } = ctx;
  let candidates = 0;
  const summary = await recordedRun(ctx, "reconcile", async (progress) => {
    const runId = progress.runId;
    const pages = pageConversations(client, { orderBy: "createdAt", orderDirection: "ASC" }, ctx.signal);
    await pipelinePages(pages, async (batch) => {
      const page = mergePages(batch);
      const counts = await store.upsertConversations(appId, page.conversations, {
        seenAt: new Date(page.fetchedAt),
        runId,
        countInRun: { runId, pages: page.pages },
      });
      addPage(ctx, progress, page, counts);
    });
    // Reaching this line means the listing ended with an empty page and no error.
    const sweep = (missing: number): SweepDecision =>
      decideSweep({
        listingComplete: true,
        liveCount: liveBefore,
        confirmedMissing: missing,
        maxDeleteShare: options.maxDeleteShare,
        allowMassDelete: options.allowMassDelete,
      });
    const liveBefore = await store.countLive(appId);
    candidates = await store.countUnseenLive(appId, runId);
    // Refuse before confirming one by one: even if every candidate were confirmed, it would be too many.
    refuseUnless(sweep(candidates));

    // Memory stays O(page) whatever the number of candidates: a conversation still at TalkJS is
    // written back at once (it is then seen by this run and no longer a candidate), and only the
    // counts and a small sample are kept; what remains unseen afterwards is exactly the 404s.
    let confirmed = 0;
    let stillThere = 0;
    let stillThereExample: string | undefined;
    const sample: string[] = [];
    let afterId: string | undefined;
    for (;;) {
      const ids = await store.listUnseenLive(appId, runId, CANDIDATE_PAGE, afterId);
      if (ids.length === 0) break;
      afterId = ids.at(-1);
      const found = await mapLimited(ids, options.confirmConcurrency ?? 4, (id) =>
        client.getConversation(id, ctx.signal),
      );
      const present: Conversation[] = [];
      found.forEach((conversation, i) => {
        if (conversation !== null) present.push(conversation);
        else {
          confirmed += 1;
          if (sample.length < 10) sample.push(ids[i] as string);
        }
      });
      if (present.length > 0) {
        stillThere += present.length;
        stillThereExample ??= present[0]?.id;
        await store.upsertConversations(appId, present, { seenAt: new Date(clock(ctx)), runId });
      }
    }
    if (stillThere > 0) {
      throw new MirrorError(
        "LISTING_INCOMPLETE",
        `${stillThere} conversation(s) missing from the full listing still exist at TalkJS ` +
          `(e.g. "${stillThereExample}"): the listing cannot be trusted, so nothing was marked deleted`,
      );
    }
    refuseUnless(sweep(confirmed));
    const at = new Date(clock(ctx));
    for (;;) {
      // Marked rows are no longer live, so each page starts from the top again.
      const ids = await store.listUnseenLive(appId, runId, CANDIDATE_PAGE);
      if (ids.length === 0) break;
      const marked = await store.markDeleted(appId, ids, at);
      if (marked === 0) break; // nothing changed: never loop on the same page
      progress.markedDeleted += marked;
    }
    if (progress.markedDeleted > 0) {
      ctx.logger.info(
        { job: "reconcile", runId, markedDeleted: progress.markedDeleted, sample },
        "conversations deleted at TalkJS marked deleted in the mirror",
      );
    }
    await store.saveSyncState(appId, RECONCILE_STREAM, { cursor: null, lastSuccessAt: new Date(clock(ctx)) });
  });
  return { ...summary, candidates };
}

function refuseUnless(decision: SweepDecision): void {
  if (!decision.mark) throw new MirrorError(decision.code, `nothing was marked deleted: ${decision.reason}`);
}
