// The simulator's webhooks: on every mutation TalkJS reports (message sent/updated/deleted,
// conversation deleted through REST, user created/updated) it POSTs a signed event to the
// configured URL as TalkJS does — `{ type, createdAt, data }`, X-TalkJS-Timestamp (ms) and
// X-TalkJS-Signature = upper-case hex HMAC-SHA256(secret key, timestamp + "." + body), a 5 s wait
// for a 2xx and one retry, never a replay — with faults a test can switch on: drop, duplicate,
// reorder, delay, bad signature, stale timestamp.
import { createHmac } from "node:crypto";
import { mulberry32 } from "./generator.ts";

export type WebhookEventType =
  | "message.sent"
  | "message.updated"
  | "message.deleted"
  | "conversation.deleted"
  | "user.created"
  | "user.updated";

/** Each a probability 0..1 per event (delay: also how long). */
export interface WebhookFaults {
  drop?: number;
  duplicate?: number;
  /** The event is held and sent after the next one. */
  reorder?: number;
  delay?: number;
  delayMs?: number;
  badSignature?: number;
  staleTimestamp?: number;
}

export interface WebhookConfig {
  url: string | null;
  faults?: WebhookFaults;
  /** How long a delivery waits for the answer (TalkJS: 5 s). */
  timeoutMs?: number;
  /** Wait before the one retry (TalkJS does not document it; default 1 s). */
  retryDelayMs?: number;
}

export interface WebhookStats {
  /** Events the mutations produced. */
  emitted: number;
  /** Events dropped by the fault (never sent). */
  dropped: number;
  /** Events a 2xx acknowledged (first try or the retry). */
  delivered: number;
  /** Events given up after the retry. */
  failed: number;
  /** POSTs made (retries and duplicates included). */
  attempts: number;
}

const ACK_TIMES_KEPT = 100_000;

export class WebhookSender {
  private config: WebhookConfig = { url: null };
  private readonly random: () => number;
  private held: (() => void) | null = null;
  private readonly inFlight = new Set<Promise<void>>();
  readonly stats: WebhookStats = { emitted: 0, dropped: 0, delivered: 0, failed: 0, attempts: 0 };
  /**
   * How long each acknowledged POST took, request to 200, in ms (the newest ACK_TIMES_KEPT):
   * TalkJS gives up on a delivery after 5 s, so benchmarks report the receiver's tail.
   */
  readonly ackTimesMs: number[] = [];

  constructor(
    private readonly secretKey: () => string,
    seed: number,
    private readonly now: () => number = Date.now,
  ) {
    this.random = mulberry32(seed ^ 0x5eed);
  }

  configure(config: WebhookConfig): void {
    this.config = { ...config };
  }

  /** Called by the app after a mutation is applied; delivery is asynchronous. */
  emit(type: WebhookEventType, data: Record<string, unknown>): void {
    if (this.config.url === null) return;
    this.stats.emitted += 1;
    const f = this.config.faults ?? {};
    const hit = (p: number | undefined): boolean => p !== undefined && p > 0 && this.random() < p;
    if (hit(f.drop)) {
      this.stats.dropped += 1;
      return;
    }
    const body = JSON.stringify({ type, createdAt: this.now(), data });
    const opts = { badSignature: hit(f.badSignature), stale: hit(f.staleTimestamp) };
    const copies = hit(f.duplicate) ? 2 : 1;
    const delay = hit(f.delay) ? (f.delayMs ?? 2_000) : 0;
    const send = (): void => {
      for (let i = 0; i < copies; i++) this.track(this.deliver(body, opts, delay));
    };
    const release = this.held;
    this.held = null;
    if (hit(f.reorder) && release === null) {
      this.held = send; // goes out after the next event
      return;
    }
    send();
    release?.();
  }

  /** Sends an event held for reordering now (end of a test). */
  flush(): void {
    const release = this.held;
    this.held = null;
    release?.();
  }

  /** Resolves when every delivery started so far has ended (acknowledged or given up). */
  async idle(): Promise<void> {
    this.flush();
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight]);
  }

  private track(p: Promise<void>): void {
    this.inFlight.add(p);
    void p.finally(() => this.inFlight.delete(p));
  }

  private async deliver(
    body: string,
    opts: { badSignature: boolean; stale: boolean },
    delayMs: number,
  ): Promise<void> {
    if (delayMs > 0) await new Promise((r) => setTimeout(r, delayMs));
    for (let attempt = 0; attempt < 2; attempt++) {
      if (attempt === 1) await new Promise((r) => setTimeout(r, this.config.retryDelayMs ?? 1_000));
      const url = this.config.url;
      if (url === null) return;
      const timestamp = String(opts.stale ? this.now() - 600_000 : this.now());
      const key = opts.badSignature ? `${this.secretKey()}_wrong` : this.secretKey();
      const signature = createHmac("sha256", key).update(`${timestamp}.${body}`).digest("hex").toUpperCase();
      this.stats.attempts += 1;
      const started = performance.now();
      try {
        const res = await fetch(url, {
          method: "POST",
          headers: {
            "content-type": "application/json",
            "x-talkjs-timestamp": timestamp,
            "x-talkjs-signature": signature,
          },
          body,
          signal: AbortSignal.timeout(this.config.timeoutMs ?? 5_000),
        });
        await res.arrayBuffer().catch(() => undefined);
        if (res.ok) {
          this.stats.delivered += 1;
          this.ackTimesMs.push(performance.now() - started);
          if (this.ackTimesMs.length > ACK_TIMES_KEPT) this.ackTimesMs.shift();
          return;
        }
      } catch {
        // timeout or connection refused: retried once
      }
    }
    this.stats.failed += 1;
  }
}
