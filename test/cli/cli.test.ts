import { once } from "node:events";
import { describe, expect, it } from "vitest";
import { runCli, spawnCli } from "./run-cli.ts";

describe("talkjs-mirror command line", () => {
  it("prints usage listing every command", async () => {
    const result = await runCli(["help"]);
    expect(result.code).toBe(0);
    for (const command of ["demo", "report", "export", "migrate", "simulator", "help", "version"]) {
      expect(result.stdout).toMatch(new RegExp(`^  ${command}\\s`, "m"));
    }
  });

  it("prints the package version", async () => {
    const result = await runCli(["--version"]);
    expect(result.code).toBe(0);
    expect(result.stdout.trim()).toMatch(/^\d+\.\d+\.\d+$/);
  });

  it("rejects an unknown command with exit 2 and one line on stderr", async () => {
    const result = await runCli(["frobnicate"]);
    expect(result.code).toBe(2);
    expect(result.stderr.trim().split("\n")).toHaveLength(1);
    expect(result.stderr).toMatch(/unknown command "frobnicate"/);
  });

  it("rejects a bad simulator flag naming the flag", async () => {
    const result = await runCli(["simulator", "--port", "eighty"]);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/--port/);
  });

  it("serves the simulator until SIGTERM and answers the documented listing", async () => {
    const child = spawnCli(["simulator", "--port", "0", "--conversations", "50", "--seed", "3"]);
    let output = "";
    child.stdout?.on("data", (chunk: string) => {
      output += chunk;
    });
    const url = await new Promise<string>((resolve, reject) => {
      child.stdout?.on("data", () => {
        const match = /listening on (http:\/\/127\.0\.0\.1:\d+) \(app demo, 50 conversations\)/.exec(output);
        if (match?.[1]) resolve(match[1]);
      });
      child.on("exit", (code) => reject(new Error(`simulator exited early with ${code}: ${output}`)));
    });
    const response = await fetch(
      `${url}/v1/demo/conversations?limit=30&orderBy=createdAt&orderDirection=ASC`,
      {
        headers: { Authorization: "Bearer sk_test_demo" },
      },
    );
    expect(response.status).toBe(200);
    const body = (await response.json()) as { data: { id: string }[] };
    expect(body.data).toHaveLength(30);
    child.kill("SIGTERM");
    const [code] = await once(child, "exit");
    expect(code).toBe(0);
  });
});
