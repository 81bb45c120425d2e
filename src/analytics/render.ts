// Text renderings of a Report: a terminal table with bar charts, and CSV for spreadsheets. The
// JSON rendering is the Report object itself.
import { bytes, count, duration } from "../units.ts";
import type { Report } from "./report.ts";

export type ReportFormat = "table" | "json" | "csv";
export const REPORT_FORMATS: readonly ReportFormat[] = ["table", "json", "csv"];

const EIGHTHS = ["", "▏", "▎", "▍", "▌", "▋", "▊", "▉"];

/** A horizontal bar of `value / max` of `width` cells, in eighths of a cell. */
export function bar(value: number, max: number, width: number): string {
  if (max <= 0 || value <= 0) return "";
  const eighths = Math.max(1, Math.round((value / max) * width * 8));
  return "█".repeat(Math.floor(eighths / 8)) + (EIGHTHS[eighths % 8] ?? "");
}

function chart(
  title: string,
  rows: { label: string; value: number }[],
  width = 40,
  format: (value: number) => string = count,
): string[] {
  const max = Math.max(0, ...rows.map((r) => r.value));
  const labelWidth = Math.max(0, ...rows.map((r) => r.label.length));
  const valueWidth = Math.max(1, ...rows.map((r) => format(r.value).length));
  return [
    title,
    ...rows.map(
      (r) =>
        `  ${r.label.padEnd(labelWidth)}  ${format(r.value).padStart(valueWidth)} ${bar(r.value, max, width)}`,
    ),
  ];
}

function messageSection(r: Report): string[] {
  const m = r.messages;
  const t = m.totals;
  const rt = m.responseTimes;
  if (t.live + t.deleted + t.inDeletedConversations === 0) {
    return [
      "Messages",
      "  none mirrored (is MIRROR_MESSAGES off, or has no pass run since it was turned on?)",
    ];
  }
  return [
    "Messages",
    `  live messages:          ${count(t.live)} in ${count(t.conversations)} conversations, from ${count(t.senders)} senders`,
    `  sent in the period:     ${count(t.inPeriod)} (last ${r.days} days)`,
    `  deleted at TalkJS:      ${count(t.deleted)} (found by reconcile --messages)`,
    `  in deleted convs.:      ${count(t.inDeletedConversations)}`,
    "",
    ...chart(
      "Messages per day",
      m.daily.map((d) => ({ label: d.day, value: d.messages })),
    ),
    "",
    ...chart(
      `Top senders (live messages, all time; top ${m.topSenders.length})`,
      m.topSenders.map((s) => ({ label: named(s.senderId, s.name), value: s.messages })),
    ),
    "",
    `Response times (wait from a message to the next one by someone else in the conversation)`,
    `  median:                 ${rt.medianMs === null ? "—" : duration(rt.medianMs)} over ${count(rt.replies)} replies`,
    ...chart(
      "  median per day (of the reply)",
      rt.daily.map((d) => ({ label: d.day, value: d.medianMs ?? 0 })),
      40,
      (ms) => duration(ms),
    ).slice(1),
    ...chart(
      "  median of the participants who answered most",
      rt.bySender.map((s) => ({ label: `${s.senderId} (${count(s.replies)})`, value: s.medianMs })),
      40,
      (ms) => duration(ms),
    ),
  ];
}

export function renderTable(r: Report): string {
  const t = r.totals;
  const out: string[] = [
    `Report for app ${r.appId} (generated ${r.generatedAt}, last ${r.days} days)`,
    "",
    "Totals",
    `  conversations:          ${count(t.conversations)}`,
    `  live:                   ${count(t.live)}`,
    `  deleted at TalkJS:      ${count(t.deleted)}`,
    `  live with messages:     ${count(t.liveWithMessages)}`,
    `  live without messages:  ${count(t.liveWithoutMessages)}`,
    `  participants:           ${count(t.participants)} users in ${count(t.participations)} participations`,
    "",
    ...chart(
      "Conversations created per day",
      r.daily.map((d) => ({ label: d.day, value: d.created })),
    ),
    "",
    ...chart(
      "Conversations active per day (by their latest activity)",
      r.daily.map((d) => ({ label: d.day, value: d.active })),
    ),
    "",
    ...chart(
      `Most active participants (live conversations; top ${r.topParticipants.length})`,
      r.topParticipants.map((p) => ({ label: named(p.userId, p.name), value: p.conversations })),
    ),
  ];
  if (r.byCustom) {
    out.push(
      "",
      ...chart(
        `Live conversations by custom.${r.byCustom.field}`,
        r.byCustom.values.map((v) => ({ label: v.value ?? "(none)", value: v.conversations })),
      ),
    );
  }
  out.push(
    "",
    `Dormant: ${count(r.dormant.count)} live conversations without activity for ${r.dormant.days} days or more`,
  );
  for (const d of r.dormant.oldest) out.push(`  ${d.lastActivityAt}  ${d.id}  ${d.subject ?? ""}`.trimEnd());
  out.push(
    "",
    `Deletions: ${count(r.deletions.total)} in total, ${count(r.deletions.inPeriod)} in the last ${r.days} days`,
  );
  const withDeletions = r.daily.filter((d) => d.deleted > 0);
  if (withDeletions.length > 0) {
    out.push(
      ...chart(
        "  deleted per day",
        withDeletions.map((d) => ({ label: d.day, value: d.deleted })),
        20,
      ).slice(1),
    );
  }
  out.push("", ...messageSection(r));
  const f = r.freshness;
  out.push(
    "",
    "Freshness",
    `  backfill:               ${f.backfillComplete ? "complete" : "not complete yet"}`,
    `  newest activity:        ${f.newestActivityAt ?? "—"}${f.lagMs === null ? "" : ` (${duration(f.lagMs)} ago)`}`,
    `  last synced:            ${f.lastSyncedAt ?? "—"}`,
    `  files:                  ${count(r.files.byStatus.stored)} stored (${bytes(r.files.storedBytes)}), ${count(r.files.byStatus.pending)} pending, ` +
      `${count(r.files.byStatus.failed)} failed, ${count(r.files.byStatus.gone)} gone, ${count(r.files.byStatus.skipped_too_large)} too large`,
  );
  for (const kind of ["backfill", "sync", "reconcile"] as const) {
    const run = f.lastRuns[kind];
    out.push(
      run
        ? `  last ${kind.padEnd(10)}        #${run.id} ${run.status} ${run.startedAt}, fetched ${count(run.fetched)}`
        : `  last ${kind.padEnd(10)}        never`,
    );
  }
  return out.join("\n");
}

/**
 * One RFC 4180 field, safe to open in a spreadsheet. Text from the mirror (user ids, custom field
 * values, conversation ids) is untrusted: per OWASP's CSV injection guidance a text cell starting
 * with = + - @ tab or carriage return gets a leading ' so it is shown, not evaluated as a formula.
 * Numbers are written as numbers (a negative count is not a formula).
 */
export function csvField(value: string | number | null): string {
  let s = value === null ? "" : String(value);
  if (typeof value === "string" && /^[=+\-@\t\r]/.test(s)) s = `'${s}`;
  return /[",\r\n\t']/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
}

/** Long format (section, key, value): every number in the report, one per line. */
export function renderCsv(r: Report): string {
  const rows: [string, string | null, string | number | null][] = [];
  for (const [k, v] of Object.entries(r.totals)) rows.push(["totals", k, v]);
  for (const d of r.daily) {
    rows.push(["created_per_day", d.day, d.created]);
    rows.push(["active_per_day", d.day, d.active]);
    rows.push(["deleted_per_day", d.day, d.deleted]);
  }
  for (const p of r.topParticipants) rows.push(["top_participants", p.userId, p.conversations]);
  if (r.byCustom) {
    for (const v of r.byCustom.values) rows.push([`by_custom.${r.byCustom.field}`, v.value, v.conversations]);
  }
  rows.push(["dormant", `over_${r.dormant.days}_days`, r.dormant.count]);
  for (const d of r.dormant.oldest) rows.push(["dormant_oldest", d.id, d.lastActivityAt]);
  rows.push(["deletions", "total", r.deletions.total]);
  rows.push(["deletions", `last_${r.days}_days`, r.deletions.inPeriod]);
  const m = r.messages;
  for (const [k, v] of Object.entries(m.totals)) rows.push(["messages", k, v]);
  for (const d of m.daily) {
    rows.push(["messages_per_day", d.day, d.messages]);
    rows.push(["message_senders_per_day", d.day, d.senders]);
  }
  for (const s of m.topSenders) rows.push(["top_senders", s.senderId, s.messages]);
  rows.push(["response_time", "replies", m.responseTimes.replies]);
  rows.push(["response_time", "median_ms", m.responseTimes.medianMs]);
  for (const d of m.responseTimes.daily) {
    rows.push(["replies_per_day", d.day, d.replies]);
    rows.push(["response_median_ms_per_day", d.day, d.medianMs]);
  }
  for (const s of m.responseTimes.bySender) {
    rows.push(["response_median_ms_by_sender", s.senderId, s.medianMs]);
  }
  for (const [status, n] of Object.entries(r.files.byStatus)) rows.push(["files", status, n]);
  rows.push(["files", "stored_bytes", r.files.storedBytes]);
  rows.push(["freshness", "newest_activity_at", r.freshness.newestActivityAt]);
  rows.push(["freshness", "lag_ms", r.freshness.lagMs]);
  rows.push(["freshness", "last_synced_at", r.freshness.lastSyncedAt]);
  for (const [kind, run] of Object.entries(r.freshness.lastRuns)) {
    rows.push(["last_run", kind, `${run.status} ${run.startedAt}`]);
  }
  return ["section,key,value", ...rows.map((row) => row.map(csvField).join(","))].join("\n");
}

export function renderReport(r: Report, format: ReportFormat): string {
  if (format === "json") return JSON.stringify(r, null, 2);
  if (format === "csv") return renderCsv(r);
  return renderTable(r);
}

/** A user as a chart label: "Name (id)" when the user is mirrored, the bare id otherwise. */
export function named(id: string, name: string | null): string {
  return name ? `${name} (${id})` : id;
}
