// The worker's one rule about time: jobs of an app run one at a time, in this process. A tick
// for a job that is already running or already waiting is skipped (and counted); a tick for
// another job waits its turn, so a nightly reconcile that falls during a sync runs right after
// it instead of being lost until the next night. Across processes the run lock does the same.

export type JobKind = "backfill" | "sync" | "reconcile" | "files";
export type SkipReason = "overlap" | "shutting-down";

export type RequestResult = "started" | "queued" | { skipped: SkipReason };

export class JobRunner {
  readonly #run: (kind: JobKind) => Promise<void>;
  readonly #onSkip: (kind: JobKind, reason: SkipReason) => void;
  readonly #queue: JobKind[] = [];
  #running: { kind: JobKind; done: Promise<void> } | null = null;
  #closed = false;

  /** `run` must not throw for a job's own failure (the worker logs and counts those). */
  constructor(run: (kind: JobKind) => Promise<void>, onSkip: (kind: JobKind, reason: SkipReason) => void) {
    this.#run = run;
    this.#onSkip = onSkip;
  }

  get running(): JobKind | null {
    return this.#running?.kind ?? null;
  }

  get queued(): readonly JobKind[] {
    return this.#queue;
  }

  request(kind: JobKind): RequestResult {
    const reason: SkipReason | null = this.#closed
      ? "shutting-down"
      : this.#running?.kind === kind || this.#queue.includes(kind)
        ? "overlap"
        : null;
    if (reason) {
      this.#onSkip(kind, reason);
      return { skipped: reason };
    }
    this.#queue.push(kind);
    const startsNow = this.#running === null;
    this.#pump();
    return startsNow ? "started" : "queued";
  }

  /** Resolves when no job is running and none is waiting. */
  async idle(): Promise<void> {
    while (this.#running) await this.#running.done;
  }

  /** Drops waiting jobs and refuses new ones; the running job is left to finish (or be aborted). */
  close(): void {
    this.#closed = true;
    this.#queue.length = 0;
  }

  #pump(): void {
    if (this.#running || this.#queue.length === 0) return;
    const kind = this.#queue.shift() as JobKind;
    const done = this.#run(kind)
      .catch(() => {
        // The run function reports its own failures; never let one stop the queue.
      })
      .finally(() => {
        this.#running = null;
        this.#pump();
      });
    this.#running = { kind, done };
  }
}
