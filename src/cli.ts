#!/usr/bin/env node
// The `talkjs-mirror` command: a thin shell that parses arguments and the environment once,
// then calls the library code. Every failure ends as one line on stderr and a non-zero exit.
import { parseArgs } from "node:util";
import { loadConfig } from "./config/index.ts";
import { ConfigError, MirrorError } from "./errors.ts";
import { redactSecrets } from "./redact.ts";
import { VERSION } from "./version.ts";

// Commands import their modules lazily so `help` stays instant and the simulator does not
// load Prisma.

const USAGE = `talkjs-mirror ${VERSION}: a complete, query-ready copy of a TalkJS app's conversations in your own database.

Usage: talkjs-mirror <command> [options]

Commands:
  demo        Start a simulated TalkJS app, mirror it into a SQLite file and report.
  migrate     Apply pending database migrations to DATABASE_URL and exit.
  simulator   Serve a simulated TalkJS REST API on loopback (for tests, demos and benchmarks).
  help        Show this help.
  version     Print the version.

Configuration comes from environment variables; see README.md.
Run 'talkjs-mirror <command> --help' for a command's options.`;

type Command = (args: string[], env: NodeJS.ProcessEnv) => Promise<void>;

const commands: Record<string, Command> = {
  async help() {
    console.log(USAGE);
  },
  async version() {
    console.log(VERSION);
  },
  async simulator(args) {
    const { runSimulatorCli } = await import("./simulator/cli.ts");
    await runSimulatorCli(args);
  },
  async migrate(args, env) {
    const { values } = parseArgs({ args, options: { help: { type: "boolean" } }, strict: true });
    if (values.help) {
      console.log(
        "Usage: talkjs-mirror migrate\n\nApplies pending migrations to DATABASE_URL (default file:./talkjs-mirror.db).",
      );
      return;
    }
    const config = loadConfig(env, { requireTalkJS: false });
    const { migrateDatabase } = await import("./store/migrate.ts");
    const { redactDatabaseUrl } = await import("./store/database-url.ts");
    const applied = await migrateDatabase(config.database);
    const where = redactDatabaseUrl(config.database.url);
    console.log(
      applied.length === 0
        ? `Database ${where} is up to date.`
        : `Applied ${applied.length} migration(s) to ${where}: ${applied.join(", ")}`,
    );
  },
  async demo(args) {
    const { runDemo } = await import("./demo.ts");
    await runDemo(args);
  },
};

export async function main(argv: string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const [name = "help", ...rest] = argv;
  const aliases: Record<string, string> = {
    "--help": "help",
    "-h": "help",
    "--version": "version",
    "-v": "version",
  };
  const command = commands[aliases[name] ?? name];
  if (!command) {
    console.error(`talkjs-mirror: unknown command "${name}". Run 'talkjs-mirror help' for the list.`);
    return 2;
  }
  try {
    await command(rest, env);
    return 0;
  } catch (error) {
    const secrets = [env.TALKJS_SECRET_KEY ?? ""].filter((s) => s.length > 0);
    console.error(`talkjs-mirror ${name}: ${redactSecrets(describeError(error), secrets)}`);
    return error instanceof ConfigError || isUsageError(error) ? 2 : 1;
  }
}

function describeError(error: unknown): string {
  if (error instanceof MirrorError) return `error [${error.code}]: ${error.message}`;
  if (error instanceof Error) return `error: ${error.message}`;
  return `error: ${String(error)}`;
}

function isUsageError(error: unknown): boolean {
  // node:util parseArgs reports unknown or malformed options with these codes.
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === "string" && code.startsWith("ERR_PARSE_ARGS_");
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    console.error(
      `talkjs-mirror: unexpected error: ${error instanceof Error ? error.message : String(error)}`,
    );
    process.exitCode = 1;
  },
);
