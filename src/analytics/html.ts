// `report --html FILE`: the same numbers as the terminal report, as one self-contained page
// (inline CSS and SVG, no script, no external resource) that can be mailed or opened offline.
import { count, duration } from "../units.ts";
import { named } from "./render.ts";
import type { Report } from "./report.ts";

export function escapeHtml(value: string): string {
  return value
    .replaceAll("&", "&amp;")
    .replaceAll("<", "&lt;")
    .replaceAll(">", "&gt;")
    .replaceAll('"', "&quot;")
    .replaceAll("'", "&#39;");
}

/** Vertical bars, one per day; each bar has a <title> so hovering shows the exact number. */
function columnChart(
  title: string,
  points: { label: string; value: number }[],
  color: string,
  format: (value: number) => string = count,
): string {
  const width = 720;
  const height = 180;
  const pad = { top: 10, bottom: 30, left: 40 };
  const max = Math.max(1, ...points.map((p) => p.value));
  const step = (width - pad.left) / Math.max(1, points.length);
  const barWidth = Math.max(1, step * 0.8);
  const plot = height - pad.top - pad.bottom;
  const bars = points
    .map((p, i) => {
      const h = (p.value / max) * plot;
      const x = pad.left + i * step;
      const y = pad.top + plot - h;
      return `<rect x="${x.toFixed(1)}" y="${y.toFixed(1)}" width="${barWidth.toFixed(1)}" height="${h.toFixed(1)}" fill="${color}"><title>${escapeHtml(p.label)}: ${escapeHtml(format(p.value))}</title></rect>`;
    })
    .join("");
  const first = points[0]?.label ?? "";
  const last = points[points.length - 1]?.label ?? "";
  return `<figure><figcaption>${escapeHtml(title)}</figcaption>
<svg role="img" aria-label="${escapeHtml(title)}" viewBox="0 0 ${width} ${height}" width="100%">
<line x1="${pad.left}" y1="${pad.top + plot}" x2="${width}" y2="${pad.top + plot}" stroke="#999"/>
<text x="${pad.left - 6}" y="${pad.top + 10}" text-anchor="end" font-size="11">${escapeHtml(format(max))}</text>
<text x="${pad.left - 6}" y="${pad.top + plot}" text-anchor="end" font-size="11">0</text>
${bars}
<text x="${pad.left}" y="${height - 8}" font-size="11">${escapeHtml(first)}</text>
<text x="${width}" y="${height - 8}" text-anchor="end" font-size="11">${escapeHtml(last)}</text>
</svg></figure>`;
}

/** Horizontal bars with labels and values (participants, custom field values). */
function barChart(title: string, rows: { label: string; value: number }[], color: string): string {
  if (rows.length === 0) return `<h2>${escapeHtml(title)}</h2><p>None.</p>`;
  const rowHeight = 22;
  const labelWidth = 220;
  const width = 720;
  const max = Math.max(1, ...rows.map((r) => r.value));
  const body = rows
    .map((r, i) => {
      const y = i * rowHeight;
      const w = ((width - labelWidth - 80) * r.value) / max;
      return `<text x="${labelWidth - 8}" y="${y + 15}" text-anchor="end" font-size="12">${escapeHtml(r.label)}</text><rect x="${labelWidth}" y="${y + 3}" width="${w.toFixed(1)}" height="${rowHeight - 6}" fill="${color}"><title>${escapeHtml(r.label)}: ${count(r.value)}</title></rect><text x="${(labelWidth + w + 6).toFixed(1)}" y="${y + 15}" font-size="12">${count(r.value)}</text>`;
    })
    .join("\n");
  return `<figure><figcaption>${escapeHtml(title)}</figcaption>
<svg role="img" aria-label="${escapeHtml(title)}" viewBox="0 0 ${width} ${rows.length * rowHeight}" width="100%">
${body}
</svg></figure>`;
}

function messagesHtml(r: Report): string {
  const m = r.messages;
  const rt = m.responseTimes;
  const bySender = rt.bySender
    .map(
      (s) =>
        `<tr><td>${escapeHtml(s.senderId)}</td><td>${count(s.replies)}</td><td>${escapeHtml(duration(s.medianMs))}</td></tr>`,
    )
    .join("\n");
  return `<h2>Messages</h2>
<p>${count(m.totals.live)} live messages in ${count(m.totals.conversations)} conversations from ${count(m.totals.senders)} senders; ${count(m.totals.inPeriod)} in the period; ${count(m.totals.deleted)} deleted at TalkJS; ${count(m.totals.inDeletedConversations)} in deleted conversations.</p>
${columnChart(
  "Messages per day",
  m.daily.map((d) => ({ label: d.day, value: d.messages })),
  "#0ea5e9",
)}
${barChart(
  "Top senders (live messages, all time)",
  m.topSenders.map((s) => ({ label: named(s.senderId, s.name), value: s.messages })),
  "#14b8a6",
)}
<h2>Response times</h2>
<p>Median wait from a message to the next one by someone else in the same conversation: <b>${rt.medianMs === null ? "—" : escapeHtml(duration(rt.medianMs))}</b> over ${count(rt.replies)} replies.</p>
${columnChart(
  "Median response time per day (of the reply)",
  rt.daily.map((d) => ({ label: d.day, value: d.medianMs ?? 0 })),
  "#f97316",
  duration,
)}
${bySender ? `<table><tr><th>participant</th><th>replies</th><th>median response time</th></tr>\n${bySender}\n</table>` : ""}`;
}

export function renderHtml(r: Report): string {
  const t = r.totals;
  const cards: [string, number][] = [
    ["live conversations", t.live],
    ["deleted at TalkJS", t.deleted],
    ["live with messages", t.liveWithMessages],
    ["live without messages", t.liveWithoutMessages],
    ["participants", t.participants],
    [`dormant ≥ ${r.dormant.days} days`, r.dormant.count],
  ];
  const f = r.freshness;
  const runs = (["backfill", "sync", "reconcile"] as const)
    .map((kind) => {
      const run = f.lastRuns[kind];
      return `<tr><th>${kind}</th><td>${run ? `#${run.id} ${escapeHtml(run.status)}` : "never"}</td><td>${run ? escapeHtml(run.startedAt) : ""}</td><td>${run ? count(run.fetched) : ""}</td></tr>`;
    })
    .join("\n");
  const dormant = r.dormant.oldest
    .map(
      (d) =>
        `<tr><td>${escapeHtml(d.lastActivityAt)}</td><td>${escapeHtml(d.id)}</td><td>${escapeHtml(d.subject ?? "")}</td></tr>`,
    )
    .join("\n");
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>talkjs-mirror report: ${escapeHtml(r.appId)}</title>
<style>
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;max-width:760px;margin:2rem auto;padding:0 1rem;color:#222}
h1{font-size:1.4rem}h2{font-size:1.1rem;margin-top:2rem}
.cards{display:grid;grid-template-columns:repeat(3,1fr);gap:.75rem}
.card{border:1px solid #ddd;border-radius:8px;padding:.75rem}.card b{display:block;font-size:1.5rem}
figure{margin:1.5rem 0}figcaption{font-weight:600;margin-bottom:.5rem}
table{border-collapse:collapse;width:100%}td,th{text-align:left;padding:.25rem .5rem;border-bottom:1px solid #eee;font-size:.9rem}
.muted{color:#666;font-size:.85rem}
</style>
</head>
<body>
<h1>TalkJS mirror report: ${escapeHtml(r.appId)}</h1>
<p class="muted">Generated ${escapeHtml(r.generatedAt)} · last ${r.days} days (UTC) · ${count(t.conversations)} conversations mirrored</p>
<div class="cards">
${cards.map(([label, value]) => `<div class="card"><b>${count(value)}</b>${escapeHtml(label)}</div>`).join("\n")}
</div>
${columnChart(
  "Conversations created per day",
  r.daily.map((d) => ({ label: d.day, value: d.created })),
  "#3b82f6",
)}
${columnChart(
  "Conversations active per day (by their latest activity)",
  r.daily.map((d) => ({ label: d.day, value: d.active })),
  "#10b981",
)}
${columnChart(
  `Deletions per day (${count(r.deletions.inPeriod)} in the period, ${count(r.deletions.total)} in total)`,
  r.daily.map((d) => ({ label: d.day, value: d.deleted })),
  "#ef4444",
)}
${barChart(
  "Most active participants (live conversations)",
  r.topParticipants.map((p) => ({ label: named(p.userId, p.name), value: p.conversations })),
  "#8b5cf6",
)}
${
  r.byCustom
    ? barChart(
        `Live conversations by custom.${r.byCustom.field}`,
        r.byCustom.values.map((v) => ({ label: v.value ?? "(none)", value: v.conversations })),
        "#f59e0b",
      )
    : ""
}
${messagesHtml(r)}
<h2>Dormant conversations</h2>
<p>${count(r.dormant.count)} live conversations have had no activity for ${r.dormant.days} days or more.</p>
${dormant ? `<table><tr><th>last activity</th><th>id</th><th>subject</th></tr>\n${dormant}\n</table>` : ""}
<h2>Freshness</h2>
<p>Backfill ${f.backfillComplete ? "complete" : "not complete yet"}. Newest mirrored activity ${escapeHtml(f.newestActivityAt ?? "—")}; last synced ${escapeHtml(f.lastSyncedAt ?? "—")}.</p>
<table><tr><th>run</th><th>last</th><th>started</th><th>fetched</th></tr>
${runs}
</table>
</body>
</html>
`;
}
