// Issue 16, item 12: a misspelt key in a config file is an error with a suggestion; errors name
// how the file was given (--config or TALKJS_MIRROR_CONFIG); a bad flag value names the flag.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { readConfigFile } from "../../src/config/index.ts";
import { closestSetting, knownSettings } from "../../src/config/known.ts";
import { ConfigError } from "../../src/errors.ts";
import { runCli } from "../cli/run-cli.ts";
import { sourceFiles } from "../helpers/sources.ts";

const dir = mkdtempSync(path.join(os.tmpdir(), "talkjs-mirror-cfg-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const file = (name: string, body: unknown): string => {
  const p = path.join(dir, name);
  writeFileSync(p, JSON.stringify(body));
  return p;
};

describe("config file keys", () => {
  it.each([
    ["TALKJS_APPID", "TALKJS_APP_ID"],
    ["DATABASE_ULR", "DATABASE_URL"],
    ["talkjs_secret_key", "TALKJS_SECRET_KEY"],
    ["SYNC_CRONE", "SYNC_CRON"],
  ])("%s is rejected: did you mean %s?", (key, meant) => {
    const p = file(`${key}.json`, { [key]: "x" });
    let error: unknown;
    try {
      readConfigFile(p);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).setting).toBe("--config");
    expect((error as ConfigError).message).toContain(`"${key}" is not a setting; did you mean ${meant}?`);
  });

  it("a key close to nothing is rejected without a guess; known keys pass", () => {
    expect(closestSetting("FAVOURITE_COLOUR")).toBeUndefined();
    expect(() => readConfigFile(file("odd.json", { FAVOURITE_COLOUR: "blue" }))).toThrow(
      /not a setting \(see/,
    );
    const ok = readConfigFile(
      file("ok.json", { TALKJS_APP_ID: "a", TALKJS_PAGE_SIZE: 30, LOG_PRETTY: true }),
    );
    expect(ok).toEqual({ TALKJS_APP_ID: "a", TALKJS_PAGE_SIZE: "30", LOG_PRETTY: "true" });
  });

  it("every setting the code reads is a known config key", () => {
    const sources = sourceFiles(path.resolve(import.meta.dirname, "../../src"))
      .map((f) => readFileSync(f, "utf8"))
      .join("\n");
    const read = [...sources.matchAll(/\b(?:read\w*|require\w*)\(\s*env,\s*"([A-Z0-9_]+)"/g)].map(
      (m) => m[1] as string,
    );
    expect(read.length).toBeGreaterThan(10);
    expect(read.filter((name) => !knownSettings().has(name))).toEqual([]);
  });

  it("every setting in README's configuration table is a known config key", () => {
    const readme = readFileSync(path.resolve(import.meta.dirname, "../../README.md"), "utf8");
    const table = readme.slice(readme.indexOf("## Configuration"), readme.indexOf("## Development"));
    const documented = table
      .split("\n")
      .filter((line) => line.startsWith("| `"))
      .flatMap((line) =>
        [...(line.split("|")[1] ?? "").matchAll(/`([A-Z][A-Z0-9_]+)`/g)].map((m) => m[1] as string),
      )
      // The config file's own path cannot sensibly be set inside it.
      .filter((name) => name !== "TALKJS_MIRROR_CONFIG");
    expect(documented.length).toBeGreaterThan(10);
    expect(documented.filter((name) => !knownSettings().has(name))).toEqual([]);
  });
});

describe("the CLI names where a bad value came from", () => {
  it("TALKJS_MIRROR_CONFIG errors name that variable", async () => {
    const p = file("env.json", { TALKJS_APPID: "x" });
    const r = await runCli(["status"], { TALKJS_MIRROR_CONFIG: p });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(
      /TALKJS_MIRROR_CONFIG: .*"TALKJS_APPID" is not a setting; did you mean TALKJS_APP_ID\?/,
    );
    const missing = await runCli(["status"], { TALKJS_MIRROR_CONFIG: path.join(dir, "nope.json") });
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/TALKJS_MIRROR_CONFIG: cannot read/);
  });

  it("--concurrency abc names --concurrency (and the setting it sets)", async () => {
    const r = await runCli(["backfill", "--concurrency", "abc"], {
      TALKJS_APP_ID: "a",
      TALKJS_SECRET_KEY: "sk_test_x",
    });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(
      /\[CONFIG_INVALID\]: --concurrency: "abc" is not a whole number.*BACKFILL_CONCURRENCY/,
    );
  });
});
