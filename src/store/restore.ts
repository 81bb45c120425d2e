// The restore half of the store: the restore_ledger (./sql/restore.ts) and the reads of the mirror
// a restore sends from. The engine (src/sync/restore/) decides; this only reads and writes rows.
import type { Conversation, Message, MirroredUser, Participant } from "../talkjs/types.ts";
import type { Db } from "./open.ts";
import {
  addRestoreTotals,
  LEDGER_PARAMS,
  type LedgerKind,
  type LedgerRow,
  ledgerCounts,
  ledgerOfConversation,
  ledgerOfKind,
  type RestoreTotalsDelta,
  readRestoreTotals,
  sourceConversations,
  sourceMessageFiles,
  sourceMessages,
  sourceParticipants,
  sourceUsers,
  writeLedger,
} from "./sql/restore.ts";
import { chunk, MAX_PARAMS, toDate, toJson, toNumber } from "./sql/shared.ts";

export type { LedgerKind, LedgerRow, LedgerStatus, RestoreTotalsDelta } from "./sql/restore.ts";

/** Restores from one app's mirror so far (restore_totals): what /metrics exports. */
export interface RestoreTotals {
  runsSucceeded: number;
  runsFailed: number;
  messagesRestored: number;
  filesRestored: number;
}

/** A ledger row as read back. */
export type LedgerEntry = Pick<
  LedgerRow,
  "sourceId" | "conversationId" | "targetId" | "batch" | "status" | "fingerprint"
>;

/** A conversation to restore: as mirrored, with its participants' settings. */
export interface SourceConversation {
  conversation: Conversation;
  participants: Record<string, Participant>;
  deletedAt: Date | null;
}

/** A file a mirrored message points to, as the restore sees it. */
export interface SourceFile {
  messageId: string;
  /** -1: the `attachment`; else the index of the `content` file block. */
  blockIndex: number;
  /** message_files status: only `stored` files (with their blob) can be re-uploaded. */
  status: string;
  sha256: string | null;
  filename: string | null;
  /** The archived blob's size (null when not archived). */
  size: number | null;
  contentType: string | null;
}

/** A nullable text column. */
const str = (v: unknown): string | null => (v === null || v === undefined ? null : String(v));

function entry(r: Record<string, unknown>): LedgerEntry {
  return {
    sourceId: String(r.source_id),
    conversationId: str(r.conversation_id),
    targetId: str(r.target_id),
    batch: r.batch === null || r.batch === undefined ? null : toNumber(r.batch),
    status: String(r.status) as LedgerRow["status"],
    fingerprint: str(r.fingerprint),
  };
}

export class RestoreStore {
  readonly #db: Db;

  constructor(db: Db) {
    this.#db = db;
  }

  /**
   * Writes (inserts or overwrites) ledger rows, committed before this resolves; with `totals`, the
   * source app's restore_totals advance in the same transaction (what was applied is counted once).
   */
  async write(
    rows: readonly LedgerRow[],
    now: Date = new Date(),
    totals?: RestoreTotalsDelta,
  ): Promise<void> {
    const parts = chunk(rows, Math.floor(MAX_PARAMS / LEDGER_PARAMS));
    if (!totals) {
      for (const part of parts) await this.#db.client.$executeRaw(writeLedger(this.#db.pg, part, now));
      return;
    }
    const appId = rows[0]?.sourceAppId;
    await this.#db.client.$transaction(async (tx) => {
      for (const part of parts) await tx.$executeRaw(writeLedger(this.#db.pg, part, now));
      if (appId !== undefined) await tx.$executeRaw(addRestoreTotals(this.#db.pg, appId, totals, now));
    });
  }

  /** Advances the app's restore totals (a run's outcome). */
  async addTotals(appId: string, totals: RestoreTotalsDelta, now: Date = new Date()): Promise<void> {
    await this.#db.client.$executeRaw(addRestoreTotals(this.#db.pg, appId, totals, now));
  }

  /** The app's restore totals; null before its first restore. One row by primary key. */
  async totals(appId: string): Promise<RestoreTotals | null> {
    const [r] = await this.#db.client.$queryRaw<Record<string, unknown>[]>(readRestoreTotals(appId));
    if (!r) return null;
    return {
      runsSucceeded: toNumber(r.runs_succeeded),
      runsFailed: toNumber(r.runs_failed),
      messagesRestored: toNumber(r.messages_restored),
      filesRestored: toNumber(r.files_restored),
    };
  }

  async ofKind(targetAppId: string, sourceAppId: string, kind: LedgerKind): Promise<LedgerEntry[]> {
    const rows = await this.#db.client.$queryRaw<Record<string, unknown>[]>(
      ledgerOfKind(targetAppId, sourceAppId, kind),
    );
    return rows.map(entry);
  }

  async ofConversation(
    targetAppId: string,
    sourceAppId: string,
    conversationId: string,
  ): Promise<LedgerEntry[]> {
    const rows = await this.#db.client.$queryRaw<Record<string, unknown>[]>(
      ledgerOfConversation(targetAppId, sourceAppId, conversationId),
    );
    return rows.map(entry);
  }

  /** Rows per `kind:status`, e.g. { "message:applied": 120 }. */
  async counts(targetAppId: string, sourceAppId: string): Promise<Record<string, number>> {
    const rows = await this.#db.client.$queryRaw<Record<string, unknown>[]>(
      ledgerCounts(targetAppId, sourceAppId),
    );
    return Object.fromEntries(rows.map((r) => [`${String(r.kind)}:${String(r.status)}`, toNumber(r.n)]));
  }

  async users(appId: string, includeDeleted: boolean): Promise<MirroredUser[]> {
    const rows = await this.#db.client.$queryRaw<Record<string, unknown>[]>(
      sourceUsers(appId, includeDeleted),
    );
    return rows.map((r) => toJson<MirroredUser>(r.raw));
  }

  async conversations(
    appId: string,
    opts: { ids: readonly string[] | null; since: Date | null; includeDeleted: boolean },
  ): Promise<SourceConversation[]> {
    const rows = await this.#db.client.$queryRaw<Record<string, unknown>[]>(
      sourceConversations(this.#db.pg, appId, opts),
    );
    const out = new Map<string, SourceConversation>();
    for (const r of rows)
      out.set(String(r.id), {
        conversation: toJson<Conversation>(r.raw),
        participants: {},
        deletedAt: toDate(r.deleted_at),
      });
    for (const part of chunk([...out.keys()], MAX_PARAMS - 1)) {
      const ps = await this.#db.client.$queryRaw<Record<string, unknown>[]>(sourceParticipants(appId, part));
      for (const p of ps) {
        const c = out.get(String(p.conversation_id));
        if (c)
          c.participants[String(p.user_id)] = {
            access: String(p.access) as Participant["access"],
            notify: p.notify === true || p.notify === 1 || p.notify === 1n,
          };
      }
    }
    return [...out.values()];
  }

  /** The file references of `messageIds`, by message id (in block order). */
  async files(appId: string, messageIds: readonly string[]): Promise<Map<string, SourceFile[]>> {
    const out = new Map<string, SourceFile[]>();
    for (const part of chunk(messageIds, MAX_PARAMS - 1)) {
      if (part.length === 0) continue;
      const rows = await this.#db.client.$queryRaw<Record<string, unknown>[]>(
        sourceMessageFiles(appId, part),
      );
      for (const r of rows) {
        const f: SourceFile = {
          messageId: String(r.message_id),
          blockIndex: toNumber(r.block_index),
          status: String(r.status),
          sha256: str(r.sha256),
          filename: str(r.filename),
          size: r.blob_size === null || r.blob_size === undefined ? null : toNumber(r.blob_size),
          contentType: str(r.content_type),
        };
        const list = out.get(f.messageId);
        if (list) list.push(f);
        else out.set(f.messageId, [f]);
      }
    }
    return out;
  }

  async messages(appId: string, conversationId: string, includeDeleted: boolean): Promise<Message[]> {
    const rows = await this.#db.client.$queryRaw<Record<string, unknown>[]>(
      sourceMessages(appId, conversationId, includeDeleted),
    );
    return rows.map((r) => toJson<Message>(r.raw));
  }
}
