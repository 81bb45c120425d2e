// One incremental pass. Two listings, both in createdAt ASC order (a key that never changes, so
// no cursor anchor can move while the app is live):
//   (a) conversations created since the `created` watermark — this is what catches new
//       conversations without messages, which `lastMessageAfter` never returns;
//   (b) conversations whose last message is newer than the `activity` watermark.
// Watermarks advance only after every page of the pass is committed, and only to the run's start
// minus a clock-skew margin, so anything that lands while the pass is paging is fetched again next
// time. Requests grow with what changed: a pass with no changes makes two requests.
// Both listings page with startingAfter=<last id> (safe: the order is createdAt, never
// lastActivity, in which a conversation moves when it gets a message); (b) is filtered, so its
// closing empty page is checked by a timestamp re-ask rather than a GET (see ../talkjs/pagination.ts).
import { type PagerParams, pageConversations } from "../talkjs/pagination.ts";
import { type BackfillSummary, hasCompletedBackfill, runBackfill } from "./backfill.ts";
import { mergePages, pipelinePages } from "./pipeline.ts";
import { nextWatermark } from "./policy.ts";
import { addPage, clock, type RunSummary, recordedRun, type SyncContext } from "./run.ts";
import { ACTIVITY_STREAM, BACKFILL_STREAM, CREATED_STREAM } from "./streams.ts";

export interface SyncOptions {
  /** Margin (ms) for clocks that disagree and for messages landing mid-pass. */
  clockSkewMs: number;
  /** Windows of the backfill this sync runs first when none has completed (BACKFILL_CONCURRENCY). */
  backfillConcurrency?: number;
}

export interface SyncSummary extends RunSummary {
  /** Set when there was no completed backfill, so this sync ran (or resumed) one first. */
  backfill?: BackfillSummary;
  created: number;
  active: number;
  watermarks: { created: string; activity: string };
}

export async function runSync(ctx: SyncContext, options: SyncOptions): Promise<SyncSummary> {
  const { store, appId } = ctx;
  let backfill: BackfillSummary | undefined;
  if (!(await hasCompletedBackfill(ctx))) {
    ctx.logger.warn(
      { job: "sync" },
      "this mirror has no completed backfill yet: running one first (an interrupted one resumes)",
    );
    backfill = await runBackfill(ctx, {
      clockSkewMs: options.clockSkewMs,
      concurrency: options.backfillConcurrency ?? 1,
    });
  }
  const fallback = (await store.getSyncState(appId, BACKFILL_STREAM))?.watermark?.getTime() ?? 0;
  const createdFrom = (await store.getSyncState(appId, CREATED_STREAM))?.watermark?.getTime() ?? fallback;
  const activityFrom = (await store.getSyncState(appId, ACTIVITY_STREAM))?.watermark?.getTime() ?? fallback;
  const passes = { created: 0, active: 0 };
  const watermarks = { created: createdFrom, activity: activityFrom };

  const summary = await recordedRun(ctx, "sync", async (progress) => {
    const listings: [keyof typeof passes, PagerParams][] = [
      [
        "created",
        {
          orderBy: "createdAt",
          orderDirection: "ASC",
          ...(createdFrom > 0 ? { from: { ts: createdFrom, idsAtTs: [] } } : {}),
        },
      ],
      // One millisecond early: whether TalkJS reads lastMessageAfter inclusively is not documented.
      ["active", { orderBy: "createdAt", orderDirection: "ASC", lastMessageAfter: activityFrom - 1 }],
    ];
    for (const [pass, params] of listings) {
      await pipelinePages(pageConversations(ctx.client, params, ctx.signal), async (batch) => {
        const page = mergePages(batch);
        const counts = await store.upsertConversations(appId, page.conversations, {
          seenAt: new Date(page.fetchedAt),
          countInRun: { runId: progress.runId, pages: page.pages },
        });
        passes[pass] += page.conversations.length;
        addPage(ctx, progress, page, counts);
      });
    }
    const done = new Date(clock(ctx));
    watermarks.created = nextWatermark(createdFrom, progress.startedAt, options.clockSkewMs);
    watermarks.activity = nextWatermark(activityFrom, progress.startedAt, options.clockSkewMs);
    await store.saveSyncState(appId, CREATED_STREAM, {
      cursor: null,
      watermark: new Date(watermarks.created),
      lastSuccessAt: done,
    });
    await store.saveSyncState(appId, ACTIVITY_STREAM, {
      cursor: null,
      watermark: new Date(watermarks.activity),
      lastSuccessAt: done,
    });
  });
  return {
    ...summary,
    ...(backfill ? { backfill } : {}),
    ...passes,
    watermarks: {
      created: new Date(watermarks.created).toISOString(),
      activity: new Date(watermarks.activity).toISOString(),
    },
  };
}
