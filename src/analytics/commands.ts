// The `report` and `export` commands behind src/cli.ts: flags → validated options → library
// calls. Both only read the database: they never create or migrate it (see store/read-only.ts).
import { writeFile } from "node:fs/promises";
import type { ParseArgsConfig } from "node:util";
import { type Env, loadConfig } from "../config/index.ts";
import { ConfigError, MirrorError } from "../errors.ts";
import { openStoreForReading } from "../store/read-only.ts";
import type { Store } from "../store/store.ts";
import { count } from "../units.ts";
import { exportMirror, parseSince } from "./export.ts";
import { exportFiles } from "./export-files.ts";
import { renderHtml } from "./html.ts";
import { REPORT_FORMATS, type ReportFormat, renderReport } from "./render.ts";
import { buildReport, parseByFlag, REPORT_DEFAULTS } from "./report.ts";

type Options = NonNullable<ParseArgsConfig["options"]>;
type Values = Record<string, string | boolean | undefined>;

export const REPORT_OPTIONS = {
  format: { type: "string" },
  html: { type: "string" },
  days: { type: "string" },
  top: { type: "string" },
  by: { type: "string" },
  "dormant-days": { type: "string" },
} as const satisfies Options;

export const EXPORT_OPTIONS = {
  out: { type: "string" },
  gzip: { type: "boolean", default: false },
  "include-deleted": { type: "boolean", default: false },
  "with-messages": { type: "boolean", default: false },
  "with-users": { type: "boolean", default: false },
  "with-files": { type: "string" },
  since: { type: "string" },
} as const satisfies Options;

export const REPORT_HELP = `Usage: talkjs-mirror report [--days ${REPORT_DEFAULTS.days}] [--top ${REPORT_DEFAULTS.top}] [--by custom.FIELD] [--dormant-days ${REPORT_DEFAULTS.dormantDays}]
                           [--format table|json|csv] [--html FILE] [common options]

What the mirror of TALKJS_APP_ID holds: totals (live, deleted, with/without messages), conversations
created and active per day (UTC) for the last --days days, the most active participants, live
conversations by a custom field (--by custom.category), dormant conversations, deletions over time,
messages per day, the top senders, response times (median wait from a message to the next one by
someone else: overall, per day, for the participants who answered most) and freshness (lag, last runs). --html writes the same numbers as a self-contained page with charts.
Reads only the database.`;

export const EXPORT_HELP = `Usage: talkjs-mirror export --out FILE|- [--gzip] [--include-deleted] [--since DATE] [--with-messages] [--with-users] [--with-files DIR] [common options]

Writes the mirror of TALKJS_APP_ID as NDJSON: one conversation per line, the object as TalkJS
returned it plus "deleted_at". --out - writes to stdout; a FILE is written under a temporary name
and renamed when complete. --gzip (implied by a .gz name) compresses. --include-deleted adds the
conversations deleted at TalkJS; --since DATE keeps only those changed in the mirror (new, edited,
new messages, deleted) since DATE (e.g. 2026-01-31 or 2026-01-31T12:00:00Z).
--with-messages adds the messages: every line then has "kind" ("conversation" or "message"), and
the message lines (each message as TalkJS returned it plus "deleted_at", by conversation, oldest
first) follow the conversation lines. --include-deleted and --since apply to messages too.
--with-users (on with --with-messages) adds the users last, as "kind": "user" lines (never with
push tokens).

--with-files DIR puts every archived file (see MIRROR_FILES) under DIR/<conversation id>/ with its
original name, hard-linked from FILES_DIR (copied where a link is impossible).`;

function wholeNumber(flag: string, raw: string | boolean | undefined): number | undefined {
  if (raw === undefined || typeof raw === "boolean") return undefined;
  if (!/^\d+$/.test(raw)) throw new ConfigError(flag, `"${raw}" is not a positive whole number`);
  return Number(raw);
}

async function withStore<T>(settings: Env, fn: (store: Store, appId: string) => Promise<T>): Promise<T> {
  const config = loadConfig(settings, { requireTalkJS: false, isTTY: process.stderr.isTTY === true });
  if (!config.appId) {
    throw new ConfigError(
      "TALKJS_APP_ID",
      "is required: set it or pass --app to choose whose mirror to read",
    );
  }
  // Reading only: a missing or unmigrated database is an error, never created or migrated here.
  const store = await openStoreForReading(config.database, {
    onNote: (line) => process.stderr.write(`talkjs-mirror: note: ${line}\n`),
  });
  try {
    return await fn(store, config.appId);
  } finally {
    await store.close();
  }
}

export async function reportCommand(
  values: Values,
  settings: Env,
  out: (line: string) => void,
): Promise<void> {
  if (values.help) return out(REPORT_HELP);
  const rawFormat = typeof values.format === "string" ? values.format : values.json ? "json" : "table";
  if (!REPORT_FORMATS.includes(rawFormat as ReportFormat)) {
    throw new ConfigError("--format", `"${rawFormat}" is not one of ${REPORT_FORMATS.join(", ")}`);
  }
  const format = rawFormat as ReportFormat;
  const options = {
    days: wholeNumber("--days", values.days),
    top: wholeNumber("--top", values.top),
    dormantDays: wholeNumber("--dormant-days", values["dormant-days"]),
    byCustomField: typeof values.by === "string" ? parseByFlag(values.by) : undefined,
  };
  await withStore(settings, async (store, appId) => {
    const report = await buildReport(store, appId, {
      ...(options.days !== undefined ? { days: options.days } : {}),
      ...(options.top !== undefined ? { top: options.top } : {}),
      ...(options.dormantDays !== undefined ? { dormantDays: options.dormantDays } : {}),
      byCustomField: options.byCustomField,
    });
    if (typeof values.html === "string") {
      await writeFile(values.html, renderHtml(report));
      process.stderr.write(`HTML report written to ${values.html}\n`);
    }
    out(renderReport(report, format));
  });
}

export async function exportCommand(
  values: Values,
  settings: Env,
  out: (line: string) => void,
): Promise<void> {
  if (values.help) return out(EXPORT_HELP);
  if (typeof values.out !== "string" || values.out === "") {
    throw new ConfigError("--out", "is required: a file path (ending in .gz to compress) or - for stdout");
  }
  const target = values.out;
  const since = typeof values.since === "string" ? parseSince(values.since) : undefined;
  const controller = new AbortController();
  const onSignal = (name: NodeJS.Signals): void =>
    controller.abort(new MirrorError("ABORTED", `export stopped by ${name}`));
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);
  try {
    const filesTarget = typeof values["with-files"] === "string" ? values["with-files"] : undefined;
    if (filesTarget === "") throw new ConfigError("--with-files", "needs a directory to put the files in");
    const filesDir = loadConfig(settings, { requireTalkJS: false }).sync.files?.dir;
    if (filesTarget !== undefined && filesDir === undefined)
      throw new ConfigError(
        "--with-files",
        "needs FILES_DIR (where the files were archived) with a PostgreSQL database",
      );
    const { summary, files } = await withStore(settings, async (store, appId) => ({
      summary: await exportMirror(store, appId, target, {
        includeDeleted: values["include-deleted"] === true,
        withMessages: values["with-messages"] === true,
        withUsers: values["with-users"] === true,
        since,
        gzip: values.gzip === true,
        signal: controller.signal,
      }),
      files:
        filesTarget === undefined
          ? undefined
          : await exportFiles(store, appId, filesDir as string, filesTarget),
    }));
    const line = values.json
      ? JSON.stringify(files ? { ...summary, files } : summary)
      : `Exported ${count(summary.conversations)} conversations (${count(summary.deleted)} deleted)${values["with-messages"] === true ? ` and ${count(summary.messages)} messages (${count(summary.deletedMessages)} deleted)` : ""}${summary.users ? ` and ${count(summary.users)} users` : ""} to ${target === "-" ? "stdout" : target}.` +
        (files
          ? ` ${count(files.files)} files of ${count(files.conversations)} conversations to ${files.dir}${files.missing > 0 ? ` (${count(files.missing)} missing from FILES_DIR)` : ""}.`
          : "");
    // With --out - stdout carries the data: the summary goes to stderr.
    if (target === "-") process.stderr.write(`${line}\n`);
    else out(line);
  } finally {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
  }
}
