// Issue 16, item 16: the README tells to run the bin directly under a supervisor (npx does not
// forward SIGTERM), and the image does so.
import { readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";

const root = path.resolve(import.meta.dirname, "../..");
const readme = readFileSync(path.join(root, "README.md"), "utf8");
const production = readme.slice(
  readme.indexOf("## Run it in production"),
  readme.indexOf("## Configuration"),
);

describe("running the worker under a supervisor", () => {
  it("README says to start the bin itself, and why", () => {
    expect(production).toContain("node_modules/.bin/talkjs-mirror run");
    expect(production).toMatch(/npx[\s\S]{0,300}without forwarding the signal/);
    expect(production).not.toMatch(/^\s*npx talkjs-mirror run/m);
  });

  it("the image's entrypoint is the bin, with no npm in between", () => {
    const dockerfile = readFileSync(path.join(root, "Dockerfile"), "utf8");
    const entrypoint = /^ENTRYPOINT (.+)$/m.exec(dockerfile)?.[1] ?? "";
    expect(JSON.parse(entrypoint)).toEqual(["talkjs-mirror"]);
    expect(dockerfile).not.toMatch(/^(ENTRYPOINT|CMD) .*\b(npx|npm)\b/m);
  });
});
