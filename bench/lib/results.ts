// Statistics and the results table. Rows go to stderr as they are measured (progress) and to
// stdout as one table at the end.
import type { TaskResult } from "../task.ts";

export const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
};

/** Appends to the list under `key`, creating it. */
export function push<T>(map: Record<string, T[]>, key: string, value: T): void {
  const list = map[key] ?? [];
  list.push(value);
  map[key] = list;
}

/** Conversations per second of one operation. */
export const rate = (r: TaskResult) => r.conversations / r.seconds;

export const fmt = (x: number, digits = 0) =>
  x.toLocaleString("en-US", { minimumFractionDigits: digits, maximumFractionDigits: digits });

/** Every run's value, in brackets, when there was more than one run. */
export const spread = (xs: number[], digits = 0) =>
  xs.length > 1 ? ` (${xs.map((x) => fmt(x, digits)).join(", ")})` : "";

export const ok = (pass: boolean) => (pass ? "met" : "MISSED");

export class ResultsTable {
  private readonly rows: string[][] = [];

  /** One measurement: the item it belongs to, what, the result, the target and whether it was met. */
  readonly row = (item: string, measure: string, value: string, target = "", verdict = ""): void => {
    this.rows.push([item, measure, value, target, verdict]);
    console.error(`  ${item} | ${measure} | ${value}`);
  };

  print(): void {
    const head = ["item", "measure", "result (median; runs)", "target", "verdict"];
    const widths = head.map((h, i) => Math.max(h.length, ...this.rows.map((r) => (r[i] ?? "").length)));
    const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join(" | ")} |`;
    console.log(line(head));
    console.log(`|${widths.map((w) => "-".repeat(w + 2)).join("|")}|`);
    for (const r of this.rows) console.log(line(r));
  }
}
