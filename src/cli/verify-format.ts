// `verify`'s human output: what was checked, how it compares, and the bound it gives.
import type { VerifySummary } from "../sync/verify.ts";
import { count } from "../units.ts";

/** A share as a percentage a person reads: 0.6%, 0.06%, never "0%" for a positive bound. */
function percent(share: number): string {
  const p = share * 100;
  if (p === 0) return "0%";
  if (p >= 10) return `${Math.round(p * 10) / 10}%`;
  return `${Number(p.toPrecision(2))}%`;
}

/** The one-line bound; the demo prints it too. */
export function formatVerifyBound(s: VerifySummary): string {
  if (s.exact) {
    return `every conversation was checked: exactly ${count(s.differing)} of ${count(s.population)} (${percent(s.differingBound)}) differ`;
  }
  return `with ${Math.round(s.confidence * 100)}% confidence fewer than ${percent(s.differingBound)} of conversations differ`;
}

export function formatVerify(s: VerifySummary): string {
  const width = 16;
  const row = (label: string, value: number, note = "") =>
    `  ${label.padEnd(width)}${count(value).padStart(8)}${note ? `  ${note}` : ""}`;
  const lines = [
    `Verify: ${count(s.checked)} of ${count(s.population)} mirrored conversations checked against TalkJS` +
      `${s.messages ? `, with ${count(s.messagesChecked)} messages` : ""} (seed ${s.seed})`,
    row("matching", s.matching),
    row(
      "newer at TalkJS",
      s.newer,
      `changed since the mirror's last pass${s.goneAtTalkJS > 0 ? ` (${count(s.goneAtTalkJS)} deleted since)` : ""}`,
    ),
    row("differing", s.differing),
    row("still deleted", s.stillDeleted),
  ];
  for (const d of s.differences) lines.push(`    ${d.id}: ${d.fields.join(", ")}`);
  if (s.differing > s.differences.length)
    lines.push(`    … and ${count(s.differing - s.differences.length)} more`);
  lines.push(`  ${formatVerifyBound(s)}.`);
  return lines.join("\n");
}
