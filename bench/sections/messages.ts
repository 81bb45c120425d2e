// Item 7: messages. A message backfill (every history, after the conversation backfill), then
// k new messages and the sync job (conversation sync + message pass) that picks them up.

import { addMessages } from "../lib/changes.ts";
import { forgetMessages, freshDb } from "../lib/db.ts";
import { startSim, task } from "../lib/processes.ts";
import { fmt, median, ok, spread } from "../lib/results.ts";
import type { Section } from "../lib/section.ts";
import type { TaskResult } from "../task.ts";

export const messages: Section = async ({ config, results: { row } }) => {
  for (const provider of config.databases) {
    // A fresh simulator per database: the k rounds add messages, and a conversation whose
    // newest messages share one millisecond costs more the first time it changes than after.
    const msim = await startSim(config.messageConversations, 0);
    const db = await freshDb(provider);
    try {
      await task({ op: "backfill", simUrl: msim.url, dbUrl: db.url });
      const runs: TaskResult[] = [];
      for (let rep = 0; rep < config.reps; rep++) {
        if (rep > 0) await forgetMessages(db);
        runs.push(await task({ op: "messages", simUrl: msim.url, dbUrl: db.url }));
      }
      const m = (r: TaskResult) => r.messages ?? { seconds: 1, fetched: 0, conversations: 1, requests: 0 };
      const rates = runs.map((r) => m(r).fetched / m(r).seconds);
      const last = m(runs.at(-1) as TaskResult);
      row(
        "7",
        `message backfill ${provider} (${fmt(last.fetched)} messages, ${fmt(last.conversations)} conv)`,
        `${fmt(median(rates))} msg/s${spread(rates)}`,
      );
      row(
        "7",
        `message backfill ${provider}: requests/conversation, peak RSS`,
        `${fmt(last.requests / Math.max(1, last.conversations), 2)}, ${fmt(median(runs.map((r) => r.maxRssMb)))} MB`,
        "<= 1.1 (was 2.08)",
        ok(last.requests / Math.max(1, last.conversations) <= 1.1),
      );
      for (const [round, k] of config.messageKs.entries()) {
        const changed = await addMessages(msim, db, k, round);
        const s = await task({ op: "sync+messages", simUrl: msim.url, dbUrl: db.url });
        const mm = m(s);
        row(
          "7",
          `sync ${provider}, k=${fmt(k)} new messages in ${fmt(changed)} conv`,
          `${mm.requests} message requests (${fmt(mm.seconds, 2)} s), +${s.requests - mm.requests} conversation requests; ${fmt(s.seconds, 2)} s total`,
          `<= ${changed} + 2`,
          ok(mm.requests <= changed + 2 && mm.fetched >= k),
        );
      }
    } finally {
      await db.drop();
      await msim.stop();
    }
  }
};
