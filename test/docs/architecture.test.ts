// docs/architecture.md is true: every import in src/ points the way the layers allow, the
// environment is read only by the CLI and the config layer, and the simulator and the spinner
// stay where they belong. A failure names the file and the import that crosses a layer.
import { readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { sourceFiles } from "../helpers/sources.ts";

const root = path.resolve(import.meta.dirname, "../..");
const src = path.join(root, "src");

/** The layer of a path under src/: its top folder, or its file name for a top-level module. */
function layerOf(file: string): string {
  const [first = "", ...rest] = path.relative(src, file).split(path.sep);
  return rest.length > 0 ? `${first}/` : first;
}

/** Modules with no dependencies of their own: any layer may import them. */
const LEAVES = ["errors.ts", "counts.ts", "units.ts", "redact.ts", "log.ts", "version.ts"];

/** What each layer may import besides itself and the leaves (docs/architecture.md, "Layers"). */
const ALLOWED: Record<string, readonly string[] | "anything"> = {
  "cli.ts": "anything",
  "demo.ts": "anything",
  "cli/": ["analytics/", "store/", "sync/", "talkjs/"],
  "worker/": ["config/", "mirror.ts", "store/", "sync/", "talkjs/"],
  "mirror.ts": ["config/", "store/", "sync/", "talkjs/"],
  "analytics/": ["config/", "store/", "sync/"],
  "config/": ["store/", "sync/", "talkjs/"],
  "sync/": ["store/", "talkjs/"],
  "store/": ["generated/", "talkjs/"],
  "talkjs/": [],
  "simulator/": ["talkjs/"],
};
for (const leaf of LEAVES) ALLOWED[leaf] = [];

const files = sourceFiles(src).map((file) => ({ file, text: readFileSync(file, "utf8") }));

describe("architecture", () => {
  it("every module belongs to a documented layer", () => {
    expect(files.length).toBeGreaterThan(40);
    expect([...new Set(files.map((f) => layerOf(f.file)))].filter((l) => !(l in ALLOWED))).toEqual([]);
  });

  it("imports point down the layers only", () => {
    const crossings: string[] = [];
    for (const { file, text } of files) {
      const from = layerOf(file);
      const allowed = ALLOWED[from] ?? [];
      for (const m of text.matchAll(/(?:\bfrom\s+|\bimport\s*\(\s*|^import\s+)"(\.[^"]+)"/gm)) {
        const to = layerOf(path.resolve(path.dirname(file), m[1] as string));
        if (to === from || LEAVES.includes(to) || allowed === "anything" || allowed.includes(to)) continue;
        crossings.push(`${path.relative(root, file)} imports ${m[1]} (${from} → ${to})`);
      }
    }
    expect(crossings).toEqual([]);
  });

  it("only the CLI entry point and the config layer read the environment", () => {
    const readers = files
      .filter(({ text }) => /process\.env\b/.test(text.replace(/^\s*\/\/.*$/gm, "")))
      .map(({ file }) => layerOf(file));
    expect(readers.length).toBeGreaterThan(0);
    expect(readers.filter((l) => l !== "cli.ts" && l !== "config/")).toEqual([]);
  });

  it("the simulator is loaded only by the commands that ship it (simulator, demo)", () => {
    const importers = files
      .filter(({ file }) => layerOf(file) !== "simulator/")
      .filter(({ text }) => /"\.\.?\/(?:\.\.\/)*simulator\//.test(text))
      .map(({ file }) => layerOf(file));
    expect(importers.sort()).toEqual(["cli.ts", "demo.ts"]);
  });

  it("terminal presentation (the ora spinner) lives in src/cli/", () => {
    const spinners = files.filter(({ text }) => /from "ora"/.test(text)).map(({ file }) => layerOf(file));
    expect(spinners).toEqual(["cli/"]);
  });
});
