// `talkjs-mirror export`: the mirror as NDJSON, one conversation per line (the API object as
// TalkJS returned it, plus `deleted_at`); with messages, every line also says its `kind` and the
// message lines follow the conversation lines. Streams with bounded memory: keyset pages over
// (app_id, id) for conversations and (app_id, conversation_id, created_at, id) for messages,
// each written out before the next is read, with the writer's backpressure honoured. A file is written under a temporary name and renamed on success, so a failed or
// interrupted export never leaves a half file under the name asked for.
import { randomBytes } from "node:crypto";
import { createWriteStream } from "node:fs";
import { rename, rm } from "node:fs/promises";
import path from "node:path";
import { Readable, type Writable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { createGzip } from "node:zlib";
import { ConfigError, MirrorError } from "../errors.ts";
import { canonicalJson } from "../store/hash.ts";
import {
  type ExportFilter,
  exportMessages,
  exportRawPage,
  type MessageKeyset,
} from "../store/sql/analytics.ts";
import { type Sql, toDate, toJson } from "../store/sql/shared.ts";
import type { Store } from "../store/store.ts";
import { withoutNul } from "./report.ts";

export interface ExportOptions {
  /** Include conversations marked deleted (default: live ones only). */
  includeDeleted?: boolean;
  /** Only conversations changed in the mirror (new, edited, new message) or marked deleted since then. */
  since?: Date | undefined;
  gzip?: boolean;
  /**
   * Add the messages: every line then has `kind` ("conversation" or "message"), and the message
   * lines follow all conversation lines. A message is included when its conversation would be
   * (live, or --include-deleted) and it is live itself (or --include-deleted); with `since`,
   * messages changed (new, edited, deleted) since then, whether or not their conversation changed.
   */
  withMessages?: boolean;
  /**
   * Add the users (`kind: "user"`, after the other lines; on with `withMessages`): each user as
   * TalkJS returned it (never with push tokens) plus `deleted_at`.
   */
  withUsers?: boolean;
  /** Rows per database round trip (memory bound). */
  pageSize?: number;
  signal?: AbortSignal | undefined;
}

export interface ExportSummary {
  conversations: number;
  deleted: number;
  /** Message lines written, and how many of them have deleted_at (0 unless withMessages). */
  messages: number;
  deletedMessages: number;
  /** User lines written (0 unless withUsers or withMessages). */
  users?: number;
  pages: number;
  /** The file written, or "-" for a stream. */
  out: string;
}

/** Parses `--since`: an ISO date or date-time (UTC unless it says otherwise). */
export function parseSince(raw: string): Date {
  const d = /^\d{4}-\d{2}-\d{2}$/.test(raw) ? new Date(`${raw}T00:00:00.000Z`) : new Date(raw);
  if (Number.isNaN(d.getTime())) {
    throw new ConfigError("--since", `"${raw}" is not a date: use e.g. 2026-01-31 or 2026-01-31T12:00:00Z`);
  }
  return d;
}

type Row = Record<string, unknown>;

/** The NDJSON lines, one page of rows at a time: conversations, then (withMessages) messages. */
export async function* exportLines(
  store: Store,
  appId: string,
  options: ExportOptions,
  summary: ExportSummary,
): AsyncGenerator<string> {
  const app = withoutNul("TALKJS_APP_ID", appId);
  const pg = store.provider === "postgresql";
  const filter: ExportFilter = { includeDeleted: options.includeDeleted === true, since: options.since };
  const withUsers = options.withUsers === true || options.withMessages === true;
  const kind = options.withMessages || withUsers ? { kind: "conversation" } : {};
  // Conversations keyset-paged by id.
  const conversations = pages<string>(
    store,
    options,
    summary,
    (afterId, limit) => exportRawPage("conversations", pg, app, filter, { afterId, limit }),
    (last) => String(last.id),
  );
  for await (const rows of conversations) {
    yield ndjson(rows, kind, (deleted) => {
      summary.conversations++;
      if (deleted) summary.deleted++;
    });
  }
  if (options.withMessages) yield* messageLines(store, app, pg, filter, options, summary);
  if (!withUsers) return;
  summary.users = 0;
  const users = pages<string>(
    store,
    options,
    summary,
    (afterId, limit) => exportRawPage("users", pg, app, filter, { afterId, limit }),
    (last) => String(last.id),
  );
  for await (const rows of users) {
    yield ndjson(rows, { kind: "user" }, () => {
      summary.users = (summary.users ?? 0) + 1;
    });
  }
}

async function* messageLines(
  store: Store,
  app: string,
  pg: boolean,
  filter: ExportFilter,
  options: ExportOptions,
  summary: ExportSummary,
): AsyncGenerator<string> {
  // Messages in (conversation_id, created_at, id) order — a conversation's history oldest first —
  // keyset-paged on that triple. The keyset's created_at goes back exactly as the database
  // returned it (SQLite's ISO text, PostgreSQL's timestamptz at millisecond precision), so no row
  // is skipped or repeated.
  const messages = pages<MessageKeyset>(
    store,
    options,
    summary,
    (after, limit) => exportMessages(pg, app, filter, { after, limit }),
    (last) => ({
      conversationId: String(last.conversation_id),
      createdAt: typeof last.created_at === "string" ? last.created_at : (toDate(last.created_at) as Date),
      id: String(last.id),
    }),
  );
  for await (const rows of messages) {
    yield ndjson(rows, { kind: "message" }, (deleted) => {
      summary.messages++;
      if (deleted) summary.deletedMessages++;
    });
  }
}

/**
 * Keyset pages of `pageSize` rows: `query` reads the page after a position, `positionOf` takes
 * the position of a page's last row. Stops at a short page; checks the abort signal before each.
 */
async function* pages<K>(
  store: Store,
  options: ExportOptions,
  summary: ExportSummary,
  query: (after: K | undefined, limit: number) => Sql,
  positionOf: (last: Row) => K,
): AsyncGenerator<Row[]> {
  const limit = options.pageSize ?? 500;
  let after: K | undefined;
  for (;;) {
    options.signal?.throwIfAborted();
    const rows = await store.queryRaw(query(after, limit));
    if (rows.length === 0) return;
    summary.pages++;
    yield rows;
    after = positionOf(rows[rows.length - 1] as Row);
    if (rows.length < limit) return;
  }
}

/**
 * Each row as one NDJSON line: the API object plus `extra` and `deleted_at`, in canonical key
 * order, so the same mirror exports byte-identically from SQLite and PostgreSQL (jsonb does not
 * keep key order) and two exports can be diffed.
 */
function ndjson(rows: Row[], extra: object, onRow: (deleted: boolean) => void): string {
  let chunk = "";
  for (const row of rows) {
    const deletedAt = toDate(row.deleted_at);
    chunk += `${canonicalJson({ ...toJson<object>(row.raw), ...extra, deleted_at: deletedAt?.toISOString() ?? null })}\n`;
    onRow(deletedAt !== null);
  }
  return chunk;
}

/**
 * Writes the export to `out` ("-" or a Writable for a stream, else a file path; a name ending in
 * .gz implies gzip).
 */
export async function exportMirror(
  store: Store,
  appId: string,
  out: string | Writable,
  options: ExportOptions = {},
): Promise<ExportSummary> {
  const toStream = typeof out !== "string" || out === "-";
  const gzip = options.gzip === true || (typeof out === "string" && out.endsWith(".gz"));
  const summary: ExportSummary = {
    conversations: 0,
    deleted: 0,
    messages: 0,
    deletedMessages: 0,
    pages: 0,
    out: toStream ? "-" : out,
  };
  const source = Readable.from(exportLines(store, appId, options, summary));
  const write = (dest: Writable, end = true): Promise<void> =>
    gzip ? pipeline(source, createGzip(), dest, { end }) : pipeline(source, dest, { end });
  if (toStream) {
    const dest = typeof out === "string" ? process.stdout : out;
    // Never end stdout: the process may still print to it (and closing fd 1 is not ours to do).
    await write(dest, dest !== process.stdout);
    return summary;
  }
  const final = path.resolve(out);
  const temp = path.join(
    path.dirname(final),
    `.${path.basename(final)}.${process.pid}-${randomBytes(4).toString("hex")}.tmp`,
  );
  try {
    await write(createWriteStream(temp, { flags: "wx" }));
    await rename(temp, final);
  } catch (error) {
    await rm(temp, { force: true });
    if (error instanceof MirrorError) throw error;
    throw new MirrorError(
      "EXPORT_FAILED",
      `Export to ${out} failed (nothing was written under that name): ${error instanceof Error ? error.message : String(error)}`,
      { cause: error },
    );
  }
  return summary;
}
