// Progress of long runs: the numbers a person watching a backfill needs (pages, conversations,
// rate, elapsed, retries and 429s), as a spinner on a terminal or a periodic log line elsewhere.
import { Writable } from "node:stream";
import { describe, expect, it } from "vitest";
import { createProgressReporter, formatProgress, snapshot } from "../../src/cli/progress.ts";
import { createLogger } from "../../src/log.ts";
import { runBackfill } from "../../src/sync/backfill.ts";
import { runReconcile } from "../../src/sync/reconcile.ts";
import type { RunProgress } from "../../src/sync/run.ts";
import { PROVIDERS, useStore } from "../helpers/db.ts";
import { harness, SKEW_MS } from "../sync/harness.ts";

function sink(): { stream: Writable & { isTTY?: boolean }; text: () => string } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk, _e, cb) {
      chunks.push(String(chunk));
      cb();
    },
  });
  return { stream, text: () => chunks.join("") };
}

const progress = (over: Partial<RunProgress> = {}): RunProgress => ({
  kind: "backfill",
  runId: 1,
  pages: 0,
  fetched: 0,
  inserted: 0,
  updated: 0,
  unchanged: 0,
  markedDeleted: 0,
  startedAt: 0,
  ...over,
});

describe("progress line", () => {
  it("shows pages, conversations, rate, elapsed, retries and 429s", () => {
    const s = snapshot(progress({ pages: 40, fetched: 1200, inserted: 1100, updated: 100 }), 0, 65_000, {
      requests: 45,
      retries: 3,
      rateLimited: 2,
      pausedMs: 2_500,
      currentRate: 4.25,
      byStatus: {},
    });
    expect(formatProgress("backfill", s)).toBe(
      "backfill: 40 pages, 1,200 conversations (1,100 new, 100 updated, 0 unchanged), 18/s, 1:05 elapsed, 3 retries, 2 × 429 (paused 0:02, now 4.3 requests/s)",
    );
    expect(formatProgress("backfill", { ...s, rateLimited: 0 })).toMatch(/3 retries, 0 × 429$/);
    expect(formatProgress("reconcile", snapshot(null, 0, 3_725_000))).toMatch(
      /^reconcile: 0 pages.*1:02:05 elapsed/,
    );
  });

  it("on a terminal it draws a spinner line and rewrites it on every page", () => {
    const out = sink();
    // What ora needs of a terminal stream (a tty.WriteStream has these).
    Object.assign(out.stream, {
      isTTY: true,
      columns: 200,
      cursorTo: (_x: number, cb?: () => void) => cb?.() ?? true,
      moveCursor: (_dx: number, _dy: number, cb?: () => void) => cb?.() ?? true,
      clearLine: (_d: number, cb?: () => void) => cb?.() ?? true,
    });
    let now = 1_000;
    const logger = createLogger({ level: "silent" });
    const r = createProgressReporter({
      kind: "backfill",
      mode: "tty",
      stream: out.stream,
      logger,
      now: () => now,
    });
    now = 3_000;
    r.onProgress(progress({ pages: 2, fetched: 60, inserted: 60, startedAt: 1_000 }));
    r.stop();
    expect(out.text()).toContain(
      "backfill: 2 pages, 60 conversations (60 new, 0 updated, 0 unchanged), 30/s, 0:02 elapsed",
    );
  });
});

describe.each(PROVIDERS)("progress of real runs on %s", (provider) => {
  const fixture = useStore(provider);
  const { skip } = fixture;

  it.skipIf(skip)(
    "off a terminal, progress log lines carry the run's counts and the 429s it met",
    async () => {
      const h = await harness(fixture.store, "exclusive", { conversations: 200, burst: 0 });
      try {
        h.sim.addFault({ fault: { kind: "status", status: 429, retryAfter: "0" }, nth: 3 });
        const lines: string[] = [];
        const logger = createLogger({
          level: "info",
          destination: new Writable({
            write(chunk, _e, cb) {
              lines.push(String(chunk));
              cb();
            },
          }),
        });
        for (const kind of ["backfill", "reconcile"] as const) {
          const reporter = createProgressReporter({
            kind,
            mode: "log",
            logger,
            stats: () => h.client.stats,
            intervalMs: 3_600_000,
          });
          h.ctx.onProgress = (p) => {
            reporter.onProgress(p);
            // The timer fires every intervalMs in production; here once per page, deterministically.
            reporter.tick();
          };
          const summary =
            kind === "backfill"
              ? await runBackfill(h.ctx, { clockSkewMs: SKEW_MS })
              : await runReconcile(h.ctx, { maxDeleteShare: 0.1, allowMassDelete: false });
          reporter.stop();
          const ticks = lines
            .map(
              (l) =>
                JSON.parse(l) as {
                  msg: string;
                  job?: string;
                  progress?: { pages: number; conversations: number; rateLimited: number };
                },
            )
            .filter((l) => l.job === kind && l.progress);
          // One tick per commit: the pipeline commits pages that arrive during a slow write
          // together, so there may be fewer commits than pages, never more.
          expect(ticks.length).toBeGreaterThan(0);
          expect(ticks.length).toBeLessThanOrEqual(summary.pages);
          const pagesSeen = ticks.map((t) => t.progress?.pages ?? 0);
          expect(pagesSeen).toEqual([...pagesSeen].sort((a, b) => a - b));
          expect(ticks.at(-1)?.progress).toMatchObject({
            pages: summary.pages,
            conversations: summary.fetched,
            rateLimited: 1,
          });
          expect(ticks.at(-1)?.msg).toMatch(
            new RegExp(
              `^${kind}: ${summary.pages} pages, .* 1 × 429 \\(paused 0:\\d\\d, now [\\d.,]+ requests/s\\)$`,
            ),
          );
        }
      } finally {
        h.ctx.onProgress = undefined;
        await h.close();
      }
    },
  );
});
