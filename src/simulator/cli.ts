// `talkjs-mirror simulator`: serve a generated app until SIGINT/SIGTERM (or `signal` aborts).
import { parseArgs } from "node:util";
import { ConfigError } from "../errors.ts";
import { startSimulator } from "./server.ts";
import type { ImportShape, LimitMode, OffsetTsMode, SimulatorOptions } from "./types.ts";

export const SIMULATOR_USAGE = `Usage: talkjs-mirror simulator [options]

Serves a simulated TalkJS REST API (under /v1/{appId}/) on 127.0.0.1 until SIGINT/SIGTERM.

Options:
  --port N               port to listen on (default 8787; 0 picks a free one)
  --app-id ID            app id (default demo)
  --secret-key KEY       secret key (default sk_test_demo)
  --conversations N      number of generated conversations (default 10000)
  --seed N               generator seed (default 42)
  --offset-ts MODE       inclusive|exclusive (default exclusive)
  --limit-mode MODE      reject|clamp a too-large limit (default reject)
  --latency-ms N         added latency per request (default 0)
  --rate-limit N         per-app limit, requests/s sustained, like TalkJS's 9 (default off);
                         past it every request of the app gets 429 until Retry-After passes
  --rate-burst N         requests allowed at once before the limit bites (default 600)
  --apps A,B,…           serve several apps (e.g. demo,demo-copy): the first is generated, the
                         others start empty (a restore's target); each app's key is sk_test_<app>
  --import-shape SHAPE   documented|script: the payload the import endpoint accepts (default documented)
  --import-batch N       most messages per import request (default 10 documented, 100 script)`;

function integer(flag: string, raw: string, min: number, max: number): number {
  if (!/^\d+$/.test(raw) || Number(raw) < min || Number(raw) > max)
    throw new ConfigError(flag, `must be an integer from ${min} to ${max}, got "${raw}"`);
  return Number(raw);
}

function oneOf<T extends string>(flag: string, raw: string, allowed: readonly T[]): T {
  if (!(allowed as readonly string[]).includes(raw))
    throw new ConfigError(flag, `must be ${allowed.join(" or ")}, got "${raw}"`);
  return raw as T;
}

/** Parses the simulator's flags into options; throws a ConfigError naming the bad flag. */
export function parseSimulatorArgs(argv: string[]): SimulatorOptions & { help: boolean } {
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      args: argv,
      strict: true,
      options: {
        port: { type: "string", default: "8787" },
        "app-id": { type: "string", default: "demo" },
        "secret-key": { type: "string", default: "sk_test_demo" },
        conversations: { type: "string", default: "10000" },
        seed: { type: "string", default: "42" },
        "offset-ts": { type: "string", default: "exclusive" },
        "limit-mode": { type: "string", default: "reject" },
        "latency-ms": { type: "string", default: "0" },
        "rate-limit": { type: "string" },
        "rate-burst": { type: "string" },
        apps: { type: "string" },
        "import-shape": { type: "string", default: "documented" },
        "import-batch": { type: "string" },
        help: { type: "boolean", default: false },
      },
    }));
  } catch (e) {
    throw new ConfigError("simulator", e instanceof Error ? e.message : String(e));
  }
  const str = (k: string) => String(values[k]);
  const appId = str("app-id");
  if (!/^[\w-]+$/.test(appId))
    throw new ConfigError("--app-id", `must be letters, digits, _ or -, got "${appId}"`);
  const secretKey = str("secret-key");
  if (secretKey === "") throw new ConfigError("--secret-key", "must not be empty");
  const rate = values["rate-limit"] === undefined ? undefined : str("rate-limit");
  const burst = values["rate-burst"] === undefined ? undefined : str("rate-burst");
  if (burst !== undefined && rate === undefined)
    throw new ConfigError("--rate-burst", "needs --rate-limit (the requests per second sustained)");
  const apps =
    values.apps === undefined
      ? undefined
      : str("apps")
          .split(",")
          .map((a) => a.trim());
  for (const a of apps ?? [])
    if (!/^[\w-]+$/.test(a))
      throw new ConfigError("--apps", `app ids must be letters, digits, _ or -, got "${a}"`);
  if (apps && new Set(apps).size !== apps.length) throw new ConfigError("--apps", "names an app twice");
  const importShape = oneOf<ImportShape>("--import-shape", str("import-shape"), ["documented", "script"]);
  return {
    help: values.help === true,
    ...(apps ? { apps } : {}),
    importShape,
    ...(values["import-batch"] === undefined
      ? {}
      : { importMaxBatch: integer("--import-batch", str("import-batch"), 1, 10_000) }),
    ...(rate === undefined
      ? {}
      : {
          rateLimit: {
            perSecond: integer("--rate-limit", rate, 1, 1_000_000),
            burst: burst === undefined ? 600 : integer("--rate-burst", burst, 1, 1_000_000),
          },
        }),
    port: integer("--port", str("port"), 0, 65535),
    appId: apps ? (apps[0] as string) : appId,
    secretKey: apps && values["secret-key"] === "sk_test_demo" ? `sk_test_${apps[0]}` : secretKey,
    conversations: integer("--conversations", str("conversations"), 0, 5_000_000),
    seed: integer("--seed", str("seed"), 0, 2 ** 32 - 1),
    offsetTsMode: oneOf<OffsetTsMode>("--offset-ts", str("offset-ts"), ["inclusive", "exclusive"]),
    limitMode: oneOf<LimitMode>("--limit-mode", str("limit-mode"), ["reject", "clamp"]),
    latencyMs: integer("--latency-ms", str("latency-ms"), 0, 600_000),
  };
}

/**
 * Starts the simulator, prints one line with its URL, serves until SIGINT/SIGTERM or until
 * `signal` aborts (for tests), then closes and resolves. `out` defaults to stdout.
 */
export async function runSimulatorCli(
  argv: string[],
  opts: { signal?: AbortSignal; out?: (line: string) => void } = {},
): Promise<void> {
  const { help, ...options } = parseSimulatorArgs(argv);
  const out = opts.out ?? ((line: string) => process.stdout.write(`${line}\n`));
  if (help) {
    out(SIMULATOR_USAGE);
    return;
  }
  const sim = await startSimulator(options);
  const others = sim.appIds.slice(1);
  out(
    `TalkJS simulator listening on ${sim.url} (app ${sim.appId}, ${options.conversations} conversations${others.length > 0 ? `; empty apps ${others.join(", ")}` : ""})`,
  );
  await new Promise<void>((resolve) => {
    const stop = () => {
      process.off("SIGINT", stop);
      process.off("SIGTERM", stop);
      opts.signal?.removeEventListener("abort", stop);
      resolve();
    };
    process.once("SIGINT", stop);
    process.once("SIGTERM", stop);
    if (opts.signal?.aborted) stop();
    else opts.signal?.addEventListener("abort", stop, { once: true });
  });
  await sim.close();
}
