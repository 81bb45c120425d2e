// The processes of a benchmark: the simulator (its CPU is TalkJS's, not ours) and one fresh child
// per measured operation (bench/task.ts), so peak RSS is that operation's own. Children still
// running when the benchmark exits are killed.
import { type ChildProcess, spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import path from "node:path";
import type { TaskResult, TaskSpec } from "../task.ts";
import { APP, SECRET } from "./config.ts";

const ROOT = path.resolve(import.meta.dirname, "../..");

export interface Sim {
  url: string;
  /** The simulator process's peak RSS so far (Linux /proc), in MB. */
  peakRssMb(): number;
  stop(): Promise<void>;
}

const children = new Set<ChildProcess>();
process.on("exit", () => {
  for (const c of children) c.kill("SIGKILL");
});

/** A `node --import tsx` child in the repository root; its stdout decoded, stderr passed through. */
function spawnTsx(args: string[]): ChildProcess {
  const child = spawn(process.execPath, ["--import", "tsx", ...args], {
    cwd: ROOT,
    stdio: ["ignore", "pipe", "inherit"],
  });
  child.stdout?.setEncoding("utf8"); // decode across chunk boundaries
  children.add(child);
  return child;
}

/** Starts `talkjs-mirror simulator` (seed 7, plus `extra` flags) on a free port and waits until it listens. */
export async function startSim(conversations: number, latencyMs: number, extra: string[] = []): Promise<Sim> {
  const args = ["src/cli.ts", "simulator", "--port", "0", "--app-id", APP];
  args.push("--secret-key", SECRET, "--conversations", String(conversations), "--seed", "7");
  args.push("--latency-ms", String(latencyMs), ...extra);
  const child = spawnTsx(args);
  const url = await new Promise<string>((resolve, reject) => {
    let out = "";
    child.stdout?.on("data", (c: string) => {
      out += c;
      const m = /listening on (http:\/\/\S+)/.exec(out);
      if (m?.[1]) resolve(m[1]);
    });
    child.on("exit", (code) => reject(new Error(`simulator exited (${code}) before listening: ${out}`)));
  });
  return {
    url,
    peakRssMb: () => {
      const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${child.pid}/status`, "utf8"));
      return m?.[1] ? Number(m[1]) / 1024 : Number.NaN;
    },
    stop: async () => {
      const closed = new Promise((r) => child.on("exit", r));
      child.kill("SIGTERM");
      await closed;
      children.delete(child);
    },
  };
}

/** Runs one measured operation in a fresh process (bench/task.ts) and returns its result. */
export async function task(spec: Omit<TaskSpec, "appId" | "secretKey">): Promise<TaskResult> {
  const full: TaskSpec = { appId: APP, secretKey: SECRET, ...spec };
  const child = spawnTsx(["bench/task.ts", JSON.stringify(full)]);
  let out = "";
  child.stdout?.on("data", (c: string) => {
    out += c;
  });
  const code = await new Promise<number | null>((r) => child.on("exit", r));
  children.delete(child);
  const line = out.split("\n").find((l) => l.startsWith("RESULT "));
  if (code !== 0 || !line) throw new Error(`bench task ${spec.op} failed (exit ${code}): ${out}`);
  return JSON.parse(line.slice("RESULT ".length)) as TaskResult;
}
