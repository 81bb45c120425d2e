#!/usr/bin/env node
// The `talkjs-mirror` command: a thin shell that layers the settings (config file < environment
// < flags), validates them once, then calls the library code. Every failure ends as one line on
// stderr and a non-zero exit (2: bad usage or configuration; 1: the run failed).
import { type ParseArgsConfig, parseArgs } from "node:util";
import { type AppConfig, type Env, layerSettings, loadConfig, readConfigFile } from "./config/index.ts";
import { ConfigError, MirrorError, OutputClosed, StoppedOnRequest } from "./errors.ts";
import { redactSecrets } from "./redact.ts";
import { databaseUrlSecrets } from "./store/database-url.ts";
import { isDriverError, recognizeDatabaseError } from "./store/db-errors.ts";
import { VERSION } from "./version.ts";

// Commands import their modules lazily so `help` stays instant and the simulator does not load Prisma.

const USAGE = `talkjs-mirror ${VERSION}: a complete, query-ready copy of a TalkJS app's conversations in your own database.

Usage: talkjs-mirror <command> [options]

Commands:
  backfill    Copy every conversation of the app (resumes an interrupted pass; --restart starts over).
  sync        One incremental pass: new conversations and new messages since the last pass.
  reconcile   Full listing: refresh every row, mark conversations deleted at TalkJS (safely).
  run         The long-running worker: scheduled sync and reconcile, health and metrics endpoint.
  status      What is mirrored: counts, last runs, watermarks, lag.
  report      Analytics: totals, per-day charts, top participants, custom fields, dormant, messages
              per day, top senders, response times, freshness.
  forget      Erase one user's personal data from the mirror, durably (--user ID --yes; --undo lifts it).
  purge       Hard-delete rows deleted at TalkJS before an age (--deleted-before 90d --yes).
  export      Write the mirror as NDJSON (optionally gzipped, optionally with messages) to a file or stdout.
  verify      Check a random sample of the mirror against TalkJS (read-only); exit 1 if anything differs.
  restore     Put the mirror back into a TalkJS app, exactly once (--to-app ID; dry run without --yes).
  migrate     Apply pending database migrations to DATABASE_URL and exit.
  demo        Start a simulated TalkJS app, mirror it into a SQLite file and report.
  simulator   Serve a simulated TalkJS REST API on loopback (for tests, demos and benchmarks).
  help        Show this help.
  version     Print the version.

Options for backfill, sync, reconcile, status, report, export, verify and migrate:
  --app ID              TalkJS app id (TALKJS_APP_ID)
  --database-url URL    file:PATH (SQLite) or postgresql://… (DATABASE_URL)
  --log-level LEVEL     fatal, error, warn, info, debug, trace or silent (LOG_LEVEL)
  --config FILE         JSON file of settings, e.g. {"TALKJS_APP_ID": "…"}; env and flags override it
  --json                Print the result as JSON (for scripts)
  --quiet               backfill, sync, reconcile: no progress (a spinner on a terminal,
                        otherwise a progress log line every 15 s)

Settings come from the environment (see README.md); flags win over the environment, which wins
over the config file. The TalkJS secret key is only read from TALKJS_SECRET_KEY (or the file).`;

/** Secrets seen while parsing settings (a config file may hold them): scrubbed from the error line. */
const knownSecrets: (string | undefined)[] = [];
/** LOG_LEVEL is debug or trace: the one-line error is followed by its raw detail. */
let debugRequested = false;

type Options = NonNullable<ParseArgsConfig["options"]>;

const COMMON_OPTIONS = {
  app: { type: "string" },
  "database-url": { type: "string" },
  "log-level": { type: "string" },
  config: { type: "string" },
  json: { type: "boolean", default: false },
  help: { type: "boolean", default: false },
} as const satisfies Options;

/** Flag → setting: a flag is just the highest-priority layer of the settings. */
const FLAG_SETTINGS: Record<string, string> = {
  app: "TALKJS_APP_ID",
  "database-url": "DATABASE_URL",
  "log-level": "LOG_LEVEL",
};

interface Invocation {
  args: string[];
  env: NodeJS.ProcessEnv;
  out: (line: string) => void;
}

interface Parsed {
  values: Record<string, string | boolean | undefined>;
  settings: Env;
}

function parseCommand(inv: Invocation, extra: Options): Parsed {
  const { values } = parseArgs({
    args: inv.args,
    options: { ...COMMON_OPTIONS, ...extra } as Options,
    strict: true,
    allowPositionals: false,
  }) as { values: Record<string, string | boolean | undefined> };
  const flags: Record<string, string> = {};
  for (const [flag, setting] of Object.entries(FLAG_SETTINGS)) {
    const value = values[flag];
    if (typeof value === "string") flags[setting] = value;
  }
  const file =
    typeof values.config === "string"
      ? readConfigFile(values.config, "--config")
      : inv.env.TALKJS_MIRROR_CONFIG
        ? readConfigFile(inv.env.TALKJS_MIRROR_CONFIG, "TALKJS_MIRROR_CONFIG")
        : {};
  const settings = layerSettings(file, inv.env, flags);
  knownSecrets.push(settings.TALKJS_SECRET_KEY, ...databaseUrlSecrets(settings.DATABASE_URL));
  debugRequested = ["debug", "trace"].includes(settings.LOG_LEVEL ?? "");
  return { values, settings };
}

/** 128 + the signal's number: what a shell shows for a process a signal stopped. */
const SIGNAL_EXIT: Record<"SIGINT" | "SIGTERM", number> = { SIGINT: 130, SIGTERM: 143 };

/** Aborts on the first SIGINT/SIGTERM (the page being written commits or rolls back whole); exits on the second. */
function abortOnSignals(): {
  signal: AbortSignal;
  received(): "SIGINT" | "SIGTERM" | undefined;
  dispose(): void;
} {
  const controller = new AbortController();
  let received: "SIGINT" | "SIGTERM" | undefined;
  const onSignal = (name: NodeJS.Signals): void => {
    if (controller.signal.aborted) {
      process.stderr.write(`talkjs-mirror: second ${name}, exiting now\n`);
      process.exit(SIGNAL_EXIT[name === "SIGTERM" ? "SIGTERM" : "SIGINT"]);
    }
    received = name === "SIGTERM" ? "SIGTERM" : "SIGINT";
    process.stderr.write(`talkjs-mirror: ${name} received, stopping after the current page…\n`);
    controller.abort(new MirrorError("ABORTED", `stopped by ${name}`));
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  return {
    signal: controller.signal,
    received: () => received,
    dispose() {
      process.off("SIGINT", onSignal);
      process.off("SIGTERM", onSignal);
    },
  };
}

const RUN_HELP = {
  backfill: `Usage: talkjs-mirror backfill [--restart] [--concurrency N] [--no-messages] [--quiet] [common options]

Copies every conversation of the app into the database, committing each page with its cursor,
then every conversation's messages. An interrupted backfill resumes where it stopped (finished
conversations' messages are not fetched again); --restart starts a fresh pass.
--concurrency N (BACKFILL_CONCURRENCY, default 1) pages N createdAt windows at once; it takes
effect when a pass starts (a resumed pass keeps its windows) and TALKJS_MAX_CONCURRENCY and the
client's rate limit still apply.`,
  sync: `Usage: talkjs-mirror sync [--no-messages] [--quiet] [common options]

One incremental pass: conversations created, and conversations with new messages, since the last
pass (watermarks minus SYNC_CLOCK_SKEW_MS), then the new messages of the conversations that have
some. Runs a backfill first if none has completed.`,
  reconcile: `Usage: talkjs-mirror reconcile [--allow-mass-delete] [--max-delete-share 0.1] [--messages | --no-messages] [--quiet] [common options]

Lists every conversation to refresh every row, then marks deleted the live rows that were absent
from the complete listing AND answer 404 — never more than RECONCILE_MAX_DELETE_SHARE of the mirror
at once unless --allow-mass-delete is given. --messages also re-reads every conversation's whole
message history (catches edited and deleted old messages): a message missing inside the range a
re-read covered is marked deleted; one older than anything returned only after a deep re-read at
least RECONCILE_CONFIRM_AFTER (default 1h) later again misses it; at most RECONCILE_MAX_DELETE_SHARE
of the messages re-read per run (over it nothing is marked and the run fails) unless
--allow-mass-delete.`,
} as const;

/** Flags that set a setting: a bad value given as the flag is reported under the flag's name. */
const FLAG_OF_SETTING: Record<string, string> = {
  TALKJS_APP_ID: "app",
  DATABASE_URL: "database-url",
  LOG_LEVEL: "log-level",
  BACKFILL_CONCURRENCY: "concurrency",
  RECONCILE_MAX_DELETE_SHARE: "max-delete-share",
};

function namingFlags<T>(values: Parsed["values"], load: () => T): T {
  try {
    return load();
  } catch (error) {
    const flag = error instanceof ConfigError ? FLAG_OF_SETTING[error.setting] : undefined;
    if (error instanceof ConfigError && flag && values[flag] !== undefined) {
      throw new ConfigError(`--${flag}`, `${error.reason.replace(/\.$/, "")} (sets ${error.setting}).`);
    }
    throw error;
  }
}

/** backfill, sync, reconcile: lock, run, print the summary. */
async function runJob(kind: "backfill" | "sync" | "reconcile", inv: Invocation): Promise<void> {
  const { values, settings } = parseCommand(inv, {
    restart: { type: "boolean", default: false },
    concurrency: { type: "string" },
    "allow-mass-delete": { type: "boolean", default: false },
    "max-delete-share": { type: "string" },
    quiet: { type: "boolean", default: false },
    messages: { type: "boolean", default: false },
    "no-messages": { type: "boolean", default: false },
  });
  if (values.help) return inv.out(RUN_HELP[kind]);
  if (kind !== "reconcile" && values.messages)
    throw new ConfigError("--messages", "only applies to reconcile");
  if (values.messages && values["no-messages"]) {
    throw new ConfigError(
      "--messages",
      "re-reads message histories; it cannot be combined with --no-messages",
    );
  }
  if (kind !== "backfill" && values.restart) throw new ConfigError("--restart", "only applies to backfill");
  if (kind !== "backfill" && values.concurrency !== undefined)
    throw new ConfigError(
      "--concurrency",
      "only applies to backfill (set BACKFILL_CONCURRENCY for the worker)",
    );
  if (kind !== "reconcile" && (values["allow-mass-delete"] || values["max-delete-share"] !== undefined)) {
    throw new ConfigError("--allow-mass-delete", "and --max-delete-share only apply to reconcile");
  }
  const config = namingFlags(values, () =>
    loadConfig(
      layerSettings(
        settings,
        values["max-delete-share"] === undefined
          ? {}
          : { RECONCILE_MAX_DELETE_SHARE: String(values["max-delete-share"]) },
        values["no-messages"] ? { MIRROR_MESSAGES: "false" } : {},
        values.concurrency === undefined ? {} : { BACKFILL_CONCURRENCY: String(values.concurrency) },
      ),
      { requireTalkJS: true, isTTY: process.stderr.isTTY === true },
    ),
  );
  const { openMirror } = await import("./mirror.ts");
  const { runMirrorJob } = await import("./sync/jobs.ts");
  const signals = abortOnSignals();
  const mirror = await openMirror(config, { signal: signals.signal, logDestination: 2 });
  const progress = values.quiet === true ? null : await startProgress(kind, mirror, inv.env);
  // Pages committed by this invocation's runs (the conversation pass, then the message pass).
  const pagesByRun = new Map<number, number>();
  mirror.ctx.onProgress = (p) => {
    pagesByRun.set(p.runId, p.pages);
    progress?.onProgress(p);
  };
  try {
    const summary = await runMirrorJob(mirror.ctx, kind, {
      settings: config.sync,
      restart: values.restart === true,
      allowMassDelete: values["allow-mass-delete"] === true,
      deepMessages: values.messages === true,
    });
    const { formatRunSummary } = await import("./cli/format.ts");
    inv.out(values.json ? JSON.stringify(summary) : formatRunSummary(summary));
  } catch (error) {
    const signal = signals.received();
    if (!signal) throw error;
    let pages = 0;
    for (const n of pagesByRun.values()) pages += n;
    throw new StoppedOnRequest(
      signal,
      `stopped on request (${signal}) after page ${pages}; run again to resume`,
    );
  } finally {
    progress?.stop();
    signals.dispose();
    await mirror.close();
  }
}

const RUN_WORKER_HELP = `Usage: talkjs-mirror run [--log-pretty] [common options]

The long-running worker (what the container runs). Backfills first when the mirror has no complete
backfill (resuming an interrupted one), then runs \`sync\` on SYNC_CRON (default every minute) and
\`reconcile\` on RECONCILE_CRON (default 03:00 daily, CRON_TIMEZONE default UTC). Serves /healthz,
/readyz and /metrics on METRICS_HOST:METRICS_PORT (default 0.0.0.0:9464). SIGTERM or SIGINT stops
it gracefully within SHUTDOWN_GRACE_MS (default 25000); a second signal exits at once.
With WEBHOOK_PORT set it also receives TalkJS webhooks (POST /webhooks/talkjs; WEBHOOK_HOST,
WEBHOOK_INBOX_PATH, TALKJS_SECRET_KEY_PREVIOUS) and fetches what they name within seconds; the
schedule stays the backstop for lost deliveries.
Logs are JSON lines on stdout (--log-pretty or LOG_PRETTY=true for readable lines).`;

/** A spinner on an interactive terminal; elsewhere (container, CI, pipe) a progress log line every 15 s. */
async function startProgress(
  kind: "backfill" | "sync" | "reconcile",
  mirror: import("./mirror.ts").OpenedMirror,
  env: NodeJS.ProcessEnv,
): Promise<import("./cli/progress.ts").ProgressReporter> {
  const { createProgressReporter } = await import("./cli/progress.ts");
  // A terminal without a width (e.g. under `script`) cannot be redrawn in place: log lines instead.
  const interactive =
    process.stderr.isTTY === true &&
    (process.stderr.columns ?? 0) > 0 &&
    env.CI !== "true" &&
    env.TERM !== "dumb";
  return createProgressReporter({
    kind,
    mode: interactive ? "tty" : "log",
    logger: mirror.logger,
    stats: () => mirror.client.stats,
  });
}

const RESTORE_HELP = `Usage: talkjs-mirror restore --to-app ID [--conversations id,…|--since DATE|--all]
       [--include-deleted] [--skip-existing] [--into-source] [--dry-run] [--yes] [--verify] [common options]

Puts the mirror of TALKJS_APP_ID back into app ID: users (batch PUT), conversations (PUT) with
their participants' access and notify, then every user message through TalkJS's import endpoint,
with its original timestamp and readBy, and its archived files (uploaded once per target,
content and name; a file not archived leaves its message as text, counted). Exactly once: every
import is recorded in restore_ledger before and after it is sent, and a conversation whose last import had an unknown outcome (timeout,
reset, the process killed) is read back and matched message by message before anything more is
sent; run it again after any failure. A target conversation that already has messages gets only
the missing ones (matched on sender, timestamp and text, counting repeats); --skip-existing leaves
it alone. Without --yes (or with --dry-run) nothing is sent: the plan is printed (counts, requests,
time at the target's rate, what cannot be restored faithfully). --verify then mirrors the target
into a scratch database and compares it with the mirror modulo the fields that cannot survive
(exit 1 on any difference). Target credentials:
RESTORE_TALKJS_SECRET_KEY (and RESTORE_TALKJS_API_URL); never printed. Restoring into the mirrored
app itself needs --into-source. --conversations restores those ids (deleted ones too); --since
those active since DATE; --include-deleted adds conversations and messages deleted at TalkJS.`;

/** restore: the mirror (read) → a TalkJS app (write), exactly once through restore_ledger. */
async function restoreCommand(inv: Invocation): Promise<void> {
  const { values, settings } = parseCommand(inv, {
    "to-app": { type: "string" },
    conversations: { type: "string" },
    since: { type: "string" },
    all: { type: "boolean", default: false },
    "include-deleted": { type: "boolean", default: false },
    "skip-existing": { type: "boolean", default: false },
    "into-source": { type: "boolean", default: false },
    "dry-run": { type: "boolean", default: false },
    yes: { type: "boolean", default: false },
    quiet: { type: "boolean", default: false },
    verify: { type: "boolean", default: false },
  });
  if (values.help) return inv.out(RESTORE_HELP);
  const selectors = [values.conversations !== undefined, values.since !== undefined, values.all === true];
  if (selectors.filter(Boolean).length > 1)
    throw new ConfigError("--conversations", "--conversations, --since and --all exclude each other");
  const layered = layerSettings(
    settings,
    typeof values["to-app"] === "string" ? { RESTORE_TALKJS_APP_ID: values["to-app"] } : {},
  );
  knownSecrets.push(layered.RESTORE_TALKJS_SECRET_KEY);
  const config = loadConfig(layered, {
    requireTalkJS: layered.TALKJS_SECRET_KEY !== undefined,
    isTTY: process.stderr.isTTY === true,
  });
  const appId = config.appId;
  if (!appId) throw new ConfigError("TALKJS_APP_ID", "is required: the mirrored app to restore from (--app)");
  const { readRestoreSettings } = await import("./config/restore.ts");
  const restore = readRestoreSettings(
    layered,
    config.talkjs ?? { appId, baseUrl: layered.TALKJS_API_URL ?? "https://api.talkjs.com" },
  );
  if (restore.intoSource && values["into-source"] !== true)
    throw new ConfigError(
      "--to-app",
      `is the mirrored app ${appId} itself; pass --into-source to restore into it (this is how deleted conversations come back)`,
    );
  const { parseSince } = await import("./analytics/export.ts");
  const since = typeof values.since === "string" ? parseSince(values.since) : null;
  const ids =
    typeof values.conversations === "string"
      ? values.conversations
          .split(",")
          .map((x) => x.trim())
          .filter((x) => x !== "")
      : null;
  const dryRun = values["dry-run"] === true || values.yes !== true;
  const { migrateDatabase } = await import("./store/migrate.ts");
  const { openStore } = await import("./store/store.ts");
  const { loggerFor } = await import("./mirror.ts");
  const { planRestore, runRestore } = await import("./sync/restore/engine.ts");
  const { formatPlan, formatSummary } = await import("./cli/restore-format.ts");
  await migrateDatabase(config.database, { schemaEngineDebug: config.schemaEngineDebug });
  const store = await openStore(config.database);
  const options: import("./sync/restore/types.ts").RestoreOptions = {
    sourceAppId: appId,
    targetAppId: restore.target.appId,
    conversationIds: ids,
    since,
    includeDeleted: values["include-deleted"] === true,
    skipExisting: values["skip-existing"] === true,
    importShape: restore.importShape,
    batchSize: restore.batchSize,
    targetRatePerSecond: restore.target.rateLimit?.perSecond ?? 8,
    concurrency: restore.target.maxConcurrency ?? 4,
    filesDir: config.sync.files?.dir ?? null,
  };
  const showPlan = async (): Promise<void> => {
    const plan = await planRestore(store, options);
    inv.out(values.json ? JSON.stringify(plan) : formatPlan(plan, true));
  };
  if (dryRun && values.verify !== true) {
    try {
      await showPlan();
    } finally {
      await store.close();
    }
    return;
  }
  const signals = abortOnSignals();
  const logger = loggerFor({ ...config, secrets: [...config.secrets, restore.target.secretKey] }, 2);
  const { createTalkJSClient } = await import("./talkjs/client.ts");
  // Its own client, so its own governor: TalkJS limits each app separately.
  const target = createTalkJSClient({ ...restore.target, logger, signal: signals.signal });
  let last = 0;
  try {
    if (dryRun) await showPlan();
    else {
      const summary = await runRestore(store, target, {
        ...options,
        signal: signals.signal,
        onProgress: (p) => {
          if (values.quiet === true) return;
          const now = Date.now();
          if (now - last < 1000 && p.conversationsDone < p.conversations) return;
          last = now;
          process.stderr.write(
            `restore: ${p.conversationsDone}/${p.conversations} conversations, ${p.messagesImported} messages imported\n`,
          );
        },
      });
      inv.out(values.json ? JSON.stringify(summary) : formatSummary(summary));
    }
    if (values.verify === true)
      await verifyCommandPart(inv, store, target, options, config, logger, values.json === true);
  } catch (error) {
    const signal = signals.received();
    if (!signal) {
      // The client's 401 names the source's settings; the target's are the ones to check.
      if (error instanceof MirrorError && error.code === "TALKJS_HTTP_401")
        throw new MirrorError(
          "RESTORE_TARGET_UNAUTHORIZED",
          `app ${restore.target.appId} rejected the credentials (HTTP 401): check RESTORE_TALKJS_SECRET_KEY and --to-app`,
        );
      throw error;
    }
    throw new StoppedOnRequest(signal, `stopped on request (${signal}); run restore again to finish`);
  } finally {
    signals.dispose();
    await target.close().catch(() => {});
    await store.close();
  }
}

/** restore --verify: mirror the target into a scratch SQLite database and compare; exit 1 on differences. */
async function verifyCommandPart(
  inv: Invocation,
  store: import("./store/store.ts").Store,
  target: import("./talkjs/client.ts").TalkJSClient,
  options: import("./sync/restore/types.ts").RestoreOptions,
  config: AppConfig,
  logger: import("pino").Logger,
  json: boolean,
): Promise<void> {
  const { verifyIntoScratch } = await import("./cli/restore-verify.ts");
  const diffs = await verifyIntoScratch(store, target, options, config.sync, logger);
  inv.out(
    json
      ? JSON.stringify({ verify: { differences: diffs } })
      : [
          `round trip: ${diffs.length} difference(s) beyond the documented list`,
          ...diffs.slice(0, 50).map((d) => `  ${d}`),
        ].join("\n"),
  );
  if (diffs.length > 0)
    throw new MirrorError(
      "RESTORE_VERIFY_DIFFERS",
      `${diffs.length} difference(s) between the source mirror and the restored app`,
    );
}

const commands: Record<string, (inv: Invocation) => Promise<void>> = {
  async help(inv) {
    inv.out(USAGE);
  },
  async version(inv) {
    inv.out(VERSION);
  },
  async simulator(inv) {
    const { runSimulatorCli } = await import("./simulator/cli.ts");
    await runSimulatorCli(inv.args);
  },
  async run(inv) {
    const { values, settings } = parseCommand(inv, { "log-pretty": { type: "boolean", default: false } });
    if (values.help) return inv.out(RUN_WORKER_HELP);
    const layered = values["log-pretty"] ? layerSettings(settings, { LOG_PRETTY: "true" }) : settings;
    // Both validated before anything starts: a bad cron expression stops the container at once.
    const config = loadConfig(layered, { requireTalkJS: true, isTTY: process.stdout.isTTY === true });
    const { loadWorkerSettings } = await import("./config/worker.ts");
    const { loadWebhookSettings } = await import("./config/webhooks.ts");
    const webhooks = loadWebhookSettings(layered, config.database, config.talkjs?.secretKey);
    const workerSettings = { ...loadWorkerSettings(layered), ...(webhooks ? { webhooks } : {}) };
    const { runWorkerUntilSignalled } = await import("./worker/signals.ts");
    const clean = await runWorkerUntilSignalled(config, workerSettings);
    if (!clean) {
      throw new MirrorError(
        "SHUTDOWN_TIMEOUT",
        `the running job did not stop within SHUTDOWN_GRACE_MS (${workerSettings.shutdownGraceMs} ms); its open page was rolled back`,
      );
    }
  },
  backfill: (inv) => runJob("backfill", inv),
  restore: restoreCommand,
  sync: (inv) => runJob("sync", inv),
  reconcile: (inv) => runJob("reconcile", inv),
  async status(inv) {
    const { values, settings } = parseCommand(inv, {});
    if (values.help) {
      return inv.out(
        "Usage: talkjs-mirror status [common options]\n\nShows what is mirrored for TALKJS_APP_ID: counts, last runs, watermarks, lag. Reads only the database.",
      );
    }
    const config = databaseConfig(settings);
    if (!config.appId) {
      throw new ConfigError(
        "TALKJS_APP_ID",
        "is required: set it or pass --app to choose whose mirror to show",
      );
    }
    const { openStoreForReading } = await import("./store/read-only.ts");
    const { readStatus } = await import("./sync/status.ts");
    const { formatStatus } = await import("./cli/format.ts");
    const store = await openStoreForReading(config.database, {
      onNote: (line) => process.stderr.write(`talkjs-mirror: note: ${line}\n`),
    });
    try {
      const status = await readStatus(store, config.appId);
      inv.out(values.json ? JSON.stringify(status) : formatStatus(status));
    } finally {
      await store.close();
    }
  },
  verify: (inv) => verifyCommand(inv),
  async migrate(inv) {
    const { values, settings } = parseCommand(inv, {});
    if (values.help) {
      return inv.out(
        "Usage: talkjs-mirror migrate [--database-url URL]\n\nApplies pending migrations to DATABASE_URL (default file:./talkjs-mirror.db).",
      );
    }
    const config = databaseConfig(settings);
    const { migrateDatabase } = await import("./store/migrate.ts");
    const { redactDatabaseUrl } = await import("./store/database-url.ts");
    const applied = await migrateDatabase(config.database, { schemaEngineDebug: config.schemaEngineDebug });
    const where = redactDatabaseUrl(config.database.url);
    if (values.json) return inv.out(JSON.stringify({ database: where, applied }));
    inv.out(
      applied.length === 0
        ? `Database ${where} is up to date.`
        : `Applied ${applied.length} migration(s) to ${where}: ${applied.join(", ")}`,
    );
  },
  async demo(inv) {
    const { runDemo } = await import("./demo.ts");
    await runDemo(inv.args, inv.out);
  },
  async report(inv) {
    const { REPORT_OPTIONS, reportCommand } = await import("./analytics/commands.ts");
    const { values, settings } = parseCommand(inv, REPORT_OPTIONS);
    await reportCommand(values, settings, inv.out);
  },
  async forget(inv) {
    const { values, settings } = parseCommand(inv, {
      user: { type: "string" },
      yes: { type: "boolean", default: false },
      undo: { type: "boolean", default: false },
    });
    if (values.help) return inv.out(FORGET_HELP);
    const userId = values.user;
    if (typeof userId !== "string" || userId === "")
      throw new ConfigError("--user", "is required: the id of the user whose data to erase");
    const { forgetUser } = await import("./sync/privacy.ts");
    const { formatForget } = await import("./cli/privacy.ts");
    const filesDir = databaseConfig(settings).sync.files?.dir;
    await withMaintenance(settings, async (ctx) => {
      const summary = await forgetUser(ctx, userId, {
        apply: values.yes === true,
        undo: values.undo === true,
        filesDir,
      });
      inv.out(values.json ? JSON.stringify(summary) : formatForget(summary));
    });
  },
  async purge(inv) {
    const { values, settings } = parseCommand(inv, {
      "deleted-before": { type: "string" },
      yes: { type: "boolean", default: false },
    });
    if (values.help) return inv.out(PURGE_HELP);
    const age = values["deleted-before"];
    if (typeof age !== "string")
      throw new ConfigError("--deleted-before", "is required, e.g. --deleted-before 90d");
    const { parseAge, purgeDeleted } = await import("./sync/privacy.ts");
    const before = new Date(Date.now() - parseAge("--deleted-before", age));
    const { formatPurge } = await import("./cli/privacy.ts");
    const filesDir = databaseConfig(settings).sync.files?.dir;
    await withMaintenance(settings, async (ctx) => {
      const summary = await purgeDeleted(ctx, before, { apply: values.yes === true, filesDir });
      inv.out(values.json ? JSON.stringify(summary) : formatPurge(summary));
    });
  },
  async export(inv) {
    const { EXPORT_OPTIONS, exportCommand } = await import("./analytics/commands.ts");
    const { values, settings } = parseCommand(inv, EXPORT_OPTIONS);
    await exportCommand(values, settings, inv.out);
  },
};

const VERIFY_HELP = `Usage: talkjs-mirror verify [--sample 500] [--messages] [--seed S] [--json] [common options]

Fetches a uniform random sample of the mirrored conversations (live and deleted) from TalkJS and
compares each with the stored copy: matching, newer at TalkJS (changed since the mirror's last
pass, expected on a live app), differing (ids and field names, never message text) and still
deleted, with the bound this gives ("with 95% confidence fewer than X% differ"). --messages also
re-reads the sampled conversations' message histories. --seed draws the same sample again.
Read-only: never creates or migrates the database; TALKJS_RATE_LIMIT_* apply. Exit 1 only when
something differs.`;

/** verify: read-only; opens an existing mirror without migrating it. */
async function verifyCommand(inv: Invocation): Promise<void> {
  const { values, settings } = parseCommand(inv, {
    sample: { type: "string", default: "500" },
    messages: { type: "boolean", default: false },
    seed: { type: "string" },
  });
  if (values.help) return inv.out(VERIFY_HELP);
  const sample = String(values.sample);
  if (!/^\d+$/.test(sample) || Number(sample) < 1 || Number(sample) > 1_000_000) {
    throw new ConfigError("--sample", `"${sample}" is not a whole number between 1 and 1000000.`);
  }
  const seedText =
    values.seed === undefined ? String(Math.floor(Math.random() * 2 ** 31)) : String(values.seed);
  if (!/^\d+$/.test(seedText) || Number(seedText) > 2 ** 32 - 1) {
    throw new ConfigError("--seed", `"${seedText}" is not a whole number between 0 and 4294967295.`);
  }
  const config = loadConfig(settings, { requireTalkJS: true, isTTY: process.stderr.isTTY === true });
  const talkjs = config.talkjs as NonNullable<AppConfig["talkjs"]>;
  const { loggerFor } = await import("./mirror.ts");
  const { openStoreForReading } = await import("./store/read-only.ts");
  const { createTalkJSClient } = await import("./talkjs/client.ts");
  const { runVerify } = await import("./sync/verify.ts");
  const logger = loggerFor(config, 2);
  // Like status/report/export: a missing or unmigrated database is an error (exit 2), never created.
  const store = await openStoreForReading(config.database, {
    onNote: (line) => process.stderr.write(`talkjs-mirror: note: ${line}\n`),
  });
  const signals = abortOnSignals();
  const client = createTalkJSClient({ ...talkjs, logger, signal: signals.signal });
  try {
    let summary: import("./sync/verify.ts").VerifySummary;
    try {
      summary = await runVerify(client, store, talkjs.appId, {
        sample: Number(sample),
        messages: values.messages === true,
        seed: Number(seedText),
        signal: signals.signal,
      });
    } catch (error) {
      if (error instanceof MirrorError) throw error;
      throw new MirrorError(
        "NO_MIRROR",
        `cannot read the mirror (is DATABASE_URL a talkjs-mirror database, migrated by a backfill?): ${(error as Error).message}`,
      );
    }
    const { formatVerify } = await import("./cli/verify-format.ts");
    inv.out(values.json ? JSON.stringify(summary) : formatVerify(summary));
    if (summary.differing > 0) {
      throw new MirrorError(
        "VERIFY_DIFFERS",
        `${summary.differing} of ${summary.checked} checked conversation(s) differ from TalkJS (seed ${summary.seed})`,
      );
    }
  } finally {
    signals.dispose();
    await client.close().catch(() => {});
    await store.close();
  }
}

const FORGET_HELP = `Usage: talkjs-mirror forget --user ID [--yes] [--undo] [common options]

Erases one user's personal data from the mirror: the users row's name, emails, phones and custom
fields, the text and files of every message they sent (also as a conversation's last message; the
archived files only their messages point to are removed from FILES_DIR) and error texts that
contain them. Ids and timestamps stay, so counts still add up. The erasure is
recorded (ids and time only) and every later sync or reconcile blanks the same fields on the way
in. Without --yes it only prints what it would blank. --undo lifts the erasure.`;

const PURGE_HELP = `Usage: talkjs-mirror purge --deleted-before 90d [--yes] [common options]

Hard-deletes the rows marked deleted at TalkJS before that age: conversations (with their
participants and messages), messages and users, with the purged messages' file references
(message_files) and the archived files only they point to (removed from file_blobs and FILES_DIR;
needs FILES_DIR when there are any). The only command that removes rows. Without --yes it only
prints the counts.`;

/** forget, purge: the database only (no TalkJS call), migrated, under the app's run lock. */
async function withMaintenance(
  settings: Env,
  body: (ctx: {
    store: import("./store/store.ts").Store;
    appId: string;
    logger: import("pino").Logger;
  }) => Promise<void>,
): Promise<void> {
  const config = databaseConfig(settings);
  const appId = config.appId;
  if (!appId)
    throw new ConfigError("TALKJS_APP_ID", "is required: set it or pass --app to choose the mirror");
  const { openStore } = await import("./store/store.ts");
  const { migrateDatabase } = await import("./store/migrate.ts");
  const { createLogger } = await import("./log.ts");
  await migrateDatabase(config.database, { schemaEngineDebug: config.schemaEngineDebug });
  const store = await openStore(config.database);
  const logger = createLogger({ level: config.log.level, secrets: config.secrets, destination: 2 });
  try {
    await body({ store, appId, logger });
  } finally {
    await store.close();
  }
}

function databaseConfig(settings: Env): AppConfig {
  return loadConfig(settings, { requireTalkJS: false, isTTY: process.stderr.isTTY === true });
}

export async function main(
  argv: string[],
  env: NodeJS.ProcessEnv = process.env,
  out: (line: string) => void = console.log,
): Promise<number> {
  // SQLite reads `file:` URIs only when this is set before it loads: reading commands open a WAL
  // file on a read-only mount as `file:///…?immutable=1` (store/read-only.ts). Plain paths, which
  // everything else opens, are unaffected.
  process.env.SQLITE_USE_URI ??= "1";
  const [name = "help", ...args] = argv;
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
    await command({ args, env, out });
    return 0;
  } catch (raw) {
    if (raw instanceof OutputClosed) return 141; // 128 + SIGPIPE, quietly, as `yes | head` does
    if (raw instanceof StoppedOnRequest) {
      console.error(`talkjs-mirror ${name}: ${raw.message}`);
      return SIGNAL_EXIT[raw.signal];
    }
    // A database failure that reached here unmapped (Prisma's invocation text, a driver code)
    // is said in one line with its code; its detail only at LOG_LEVEL=debug.
    const error = (isDriverError(raw) ? recognizeDatabaseError(raw) : undefined) ?? raw;
    const secrets = [env.TALKJS_SECRET_KEY, ...databaseUrlSecrets(env.DATABASE_URL), ...knownSecrets];
    console.error(`talkjs-mirror ${name}: ${redactSecrets(describeError(error), secrets)}`);
    const detail = (error as { detail?: unknown }).detail;
    if (debugRequested && typeof detail === "string" && detail !== "") {
      console.error(`talkjs-mirror ${name}: detail: ${redactSecrets(detail, secrets)}`);
    }
    return error instanceof ConfigError || isUsageError(error) ? 2 : 1;
  }
}

function describeError(error: unknown): string {
  if (error instanceof MirrorError) return `error [${error.code}]: ${error.message}`;
  if (error instanceof Error) return `error: ${error.message}`;
  return `error: ${String(error)}`;
}

/**
 * A reading command pointed at something that is not a (current) mirror: like a bad setting, the
 * fix is the invocation (DATABASE_URL, or running migrate/backfill first), so exit 2.
 */
const NOT_A_MIRROR = new Set(["DB_MISSING", "DB_NOT_MIGRATED", "DB_MIGRATION_PENDING", "DB_NOT_FOUND"]);

function isUsageError(error: unknown): boolean {
  // node:util parseArgs reports unknown or malformed options with these codes.
  const code = (error as { code?: unknown } | null)?.code;
  if (error instanceof MirrorError && NOT_A_MIRROR.has(error.code)) return true;
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
