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
import type { Store } from "../store/store.ts";
import { sqlString } from "./report.ts";

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

/** A timestamp literal comparable with the stored column on either database. */
function timestampLiteral(store: Store, at: Date): string {
  const iso = at.toISOString();
  // SQLite keeps timestamps as ISO text with an explicit "+00:00"; text order is time order only
  // in exactly that format. PostgreSQL compares real timestamptz values.
  return store.provider === "postgresql"
    ? `CAST(${sqlString(iso)} AS timestamptz)`
    : sqlString(iso.replace("Z", "+00:00"));
}

const parseRaw = (raw: unknown): object => (typeof raw === "string" ? JSON.parse(raw) : raw) as object;
const toDate = (v: unknown): Date | null =>
  v === null || v === undefined ? null : new Date(v as string | Date);

/** The NDJSON lines, one page of rows at a time: conversations, then (withMessages) messages. */
export async function* exportLines(
  store: Store,
  appId: string,
  options: ExportOptions,
  summary: ExportSummary,
): AsyncGenerator<string> {
  yield* conversationLines(store, appId, options, summary);
  if (options.withMessages) yield* messageLines(store, appId, options, summary);
}

async function* conversationLines(
  store: Store,
  appId: string,
  options: ExportOptions,
  summary: ExportSummary,
): AsyncGenerator<string> {
  const pageSize = options.pageSize ?? 500;
  const kind = options.withMessages ? { kind: "conversation" } : {};
  const filters = [`app_id = ${sqlString(appId)}`];
  if (!options.includeDeleted) filters.push("deleted_at IS NULL");
  if (options.since) {
    const since = timestampLiteral(store, options.since);
    filters.push(`(updated_at >= ${since} OR deleted_at >= ${since})`);
  }
  let after: string | undefined;
  for (;;) {
    options.signal?.throwIfAborted();
    const keyset = after === undefined ? "" : ` AND id > ${sqlString(after)}`;
    const rows = await store.queryRaw(
      `SELECT id, raw, deleted_at FROM conversations
        WHERE ${filters.join(" AND ")}${keyset}
        ORDER BY id LIMIT ${pageSize}`,
    );
    if (rows.length === 0) return;
    summary.pages++;
    let chunk = "";
    for (const row of rows) {
      const deletedAt = toDate(row.deleted_at);
      // Canonical key order: the same mirror exports byte-identically from SQLite and PostgreSQL
      // (jsonb does not keep key order), so two exports can be diffed.
      chunk += `${canonicalJson({ ...parseRaw(row.raw), ...kind, deleted_at: deletedAt?.toISOString() ?? null })}\n`;
      summary.conversations++;
      if (deletedAt) summary.deleted++;
    }
    yield chunk;
    after = String(rows[rows.length - 1]?.id);
    if (rows.length < pageSize) return;
  }
}

/**
 * Message lines in (conversation_id, created_at, id) order — a conversation's history oldest
 * first — keyset paged on that triple, which the (app_id, conversation_id, created_at) index
 * serves. The keyset's created_at is passed back exactly as the database returned it (SQLite's
 * ISO text, PostgreSQL's timestamptz at millisecond precision), so no row is skipped or repeated.
 */
async function* messageLines(
  store: Store,
  appId: string,
  options: ExportOptions,
  summary: ExportSummary,
): AsyncGenerator<string> {
  const pageSize = options.pageSize ?? 500;
  const pg = store.provider === "postgresql";
  const filters = [`m.app_id = ${sqlString(appId)}`];
  if (!options.includeDeleted) filters.push("m.deleted_at IS NULL", "c.deleted_at IS NULL");
  if (options.since) {
    const since = timestampLiteral(store, options.since);
    filters.push(`(m.updated_at >= ${since} OR m.deleted_at >= ${since})`);
  }
  // Conversation deletions only matter without --include-deleted; a message without a
  // conversation row (never written that way) is kept rather than silently dropped.
  const join = options.includeDeleted
    ? ""
    : "LEFT JOIN conversations c ON c.app_id = m.app_id AND c.id = m.conversation_id";
  let after: { conversationId: string; createdAt: string; id: string } | undefined;
  for (;;) {
    options.signal?.throwIfAborted();
    const keyset =
      after === undefined
        ? ""
        : ` AND (m.conversation_id, m.created_at, m.id) > (${sqlString(after.conversationId)}, ${after.createdAt}, ${sqlString(after.id)})`;
    const rows = await store.queryRaw(
      `SELECT m.conversation_id, m.created_at, m.id, m.raw, m.deleted_at FROM messages m ${join}
        WHERE ${filters.join(" AND ")}${keyset}
        ORDER BY m.conversation_id, m.created_at, m.id LIMIT ${pageSize}`,
    );
    if (rows.length === 0) return;
    summary.pages++;
    let chunk = "";
    for (const row of rows) {
      const deletedAt = toDate(row.deleted_at);
      chunk += `${canonicalJson({ ...parseRaw(row.raw), kind: "message", deleted_at: deletedAt?.toISOString() ?? null })}\n`;
      summary.messages++;
      if (deletedAt) summary.deletedMessages++;
    }
    yield chunk;
    const last = rows[rows.length - 1] as Record<string, unknown>;
    after = {
      conversationId: String(last.conversation_id),
      // SQLite text goes back verbatim; a Date (PostgreSQL, or a driver that converts) as a literal.
      createdAt:
        !pg && typeof last.created_at === "string"
          ? sqlString(last.created_at)
          : timestampLiteral(store, toDate(last.created_at) as Date),
      id: String(last.id),
    };
    if (rows.length < pageSize) return;
  }
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
