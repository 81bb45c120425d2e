// The webhook inbox: every authentic delivery is written here before the receiver answers 200, so
// a crash after the acknowledgement loses nothing. It is its own SQLite file (WAL,
// synchronous=FULL: the commit is on disk when insert() returns), for both providers, so that
// acknowledging never waits behind a page transaction of the mirror (SQLite has one writer) or
// for a free connection of a busy PostgreSQL pool: TalkJS gives up after 5 s. Each process that
// receives webhooks owns its inbox; its consumer moves events into the mirror's shared work_queue.
// Deliveries are deduplicated by the sha256 of the body (TalkJS's retry resends the same bytes).
import { mkdirSync } from "node:fs";
import path from "node:path";
import Database from "better-sqlite3";

export interface InboxEvent {
  id: number;
  bodyHash: string;
  type: string;
  body: string;
  receivedAt: number;
}

export interface InboxCounts {
  pending: number;
  oldestPendingAt: number | null;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS webhook_events (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  body_hash TEXT NOT NULL UNIQUE,
  type TEXT NOT NULL,
  body TEXT NOT NULL,
  received_at INTEGER NOT NULL,
  processed_at INTEGER
);
CREATE INDEX IF NOT EXISTS webhook_events_pending ON webhook_events (processed_at, id);
`;

export class WebhookInbox {
  readonly #db: Database.Database;
  readonly #insert: Database.Statement;
  readonly #pending: Database.Statement;
  readonly #done: Database.Statement;
  readonly #prune: Database.Statement;
  readonly #counts: Database.Statement;

  /** Opens (creating) the inbox file; synchronous, at worker start. */
  constructor(file: string) {
    mkdirSync(path.dirname(file), { recursive: true });
    this.#db = new Database(file, { timeout: 5_000 });
    this.#db.pragma("journal_mode = WAL");
    this.#db.pragma("synchronous = FULL");
    this.#db.exec(SCHEMA);
    // Named statements: values always bound.
    this.#insert = this.#db.prepare(
      "INSERT INTO webhook_events (body_hash, type, body, received_at) VALUES (?, ?, ?, ?) ON CONFLICT (body_hash) DO NOTHING",
    );
    this.#pending = this.#db.prepare(
      "SELECT id, body_hash AS bodyHash, type, body, received_at AS receivedAt FROM webhook_events WHERE processed_at IS NULL ORDER BY id LIMIT ?",
    );
    this.#done = this.#db.prepare("UPDATE webhook_events SET processed_at = ? WHERE id = ?");
    this.#prune = this.#db.prepare(
      "DELETE FROM webhook_events WHERE processed_at IS NOT NULL AND processed_at < ?",
    );
    this.#counts = this.#db.prepare(
      "SELECT COUNT(*) AS pending, MIN(received_at) AS oldest FROM webhook_events WHERE processed_at IS NULL",
    );
  }

  /** Stores a delivery durably; false when the same body was already stored (a duplicate). */
  insert(event: { bodyHash: string; type: string; body: string; receivedAt: number }): boolean {
    return this.#insert.run(event.bodyHash, event.type, event.body, event.receivedAt).changes === 1;
  }

  /** Unprocessed events, oldest first. */
  pending(limit: number): InboxEvent[] {
    return this.#pending.all(limit) as InboxEvent[];
  }

  /** Marks events processed (their work is durably queued or done), in one transaction. */
  markProcessed(ids: readonly number[], at: number): void {
    this.#db.transaction(() => {
      for (const id of ids) this.#done.run(at, id);
    })();
  }

  /** Deletes processed events older than `before` (ms): the bodies hold message text. */
  prune(before: number): number {
    return this.#prune.run(before).changes;
  }

  counts(): InboxCounts {
    const row = this.#counts.get() as { pending: number; oldest: number | null };
    return { pending: row.pending, oldestPendingAt: row.oldest };
  }

  close(): void {
    if (this.#db.open) this.#db.close();
  }
}

/** Where a SQLite mirror keeps its inbox: `<name>.webhooks.db` beside `<name>.db`. */
export function inboxPathBeside(mirrorFile: string): string {
  const ext = path.extname(mirrorFile);
  const base = ext === "" ? mirrorFile : mirrorFile.slice(0, -ext.length);
  return `${base}.webhooks.db`;
}
