// The documented settings are the real ones: every variable in README's configuration table is
// read by the code, every setting the code reads is documented, and the compose example only
// uses documented settings.
import { readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { sourceFiles } from "../helpers/sources.ts";

const root = path.resolve(import.meta.dirname, "../..");
const readme = readFileSync(path.join(root, "README.md"), "utf8");
const httpDoc = readFileSync(path.join(root, "docs/http-client.md"), "utf8");

const sources = sourceFiles(path.join(root, "src"))
  .map((f) => readFileSync(f, "utf8"))
  .join("\n");

/** `VAR` names in the first column of README's configuration table (a cell may hold `A` / `B`). */
function documentedSettings(): Set<string> {
  const section = readme.slice(readme.indexOf("## Configuration"), readme.indexOf("## Development"));
  const names = new Set<string>();
  for (const line of section.split("\n")) {
    const cell = line.startsWith("| `") ? line.split("|")[1] : undefined;
    for (const m of cell?.matchAll(/`([A-Z][A-Z0-9_]+)`/g) ?? []) names.add(m[1] as string);
  }
  return names;
}

describe("settings documentation", () => {
  it("every setting in README's configuration table is read by the code", () => {
    const documented = documentedSettings();
    expect(documented.size).toBeGreaterThan(10);
    const unread = [...documented].filter(
      (name) => !sources.includes(`"${name}"`) && !sources.includes(`env.${name}`),
    );
    expect(unread).toEqual([]);
  });

  it("every setting the code reads is documented (README or docs/http-client.md)", () => {
    const read = new Set(
      [
        ...sources.matchAll(
          /read(?:String|Integer|Number|Boolean|Choice|HttpUrl|Cron|Timezone)\(\s*env,\s*"([A-Z0-9_]+)"/g,
        ),
      ].map((m) => m[1] as string),
    );
    expect(read.size).toBeGreaterThan(10);
    const undocumented = [...read].filter(
      (name) => !documentedSettings().has(name) && !httpDoc.includes(name),
    );
    expect(undocumented).toEqual([]);
  });

  it("docker-compose.yml configures the worker only with documented settings", () => {
    const compose = readFileSync(path.join(root, "docker-compose.yml"), "utf8");
    const mirror = compose.slice(compose.indexOf("  mirror:"));
    const env = mirror.slice(mirror.indexOf("environment:"), mirror.indexOf("    ports:"));
    const names = [...env.matchAll(/^ {6}([A-Z][A-Z0-9_]+):/gm)].map((m) => m[1] as string);
    expect(names).toContain("TALKJS_SECRET_KEY");
    expect(names.filter((n) => !documentedSettings().has(n))).toEqual([]);
  });
});
