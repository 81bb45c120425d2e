// The webhook receiver's and consumer's Prometheus metrics, on the worker's registry.
import { Counter, Gauge, Histogram, type Registry } from "prom-client";
import { HOOK_KINDS } from "../store/webhook-work.ts";
import type { RejectReason } from "../sync/webhooks/verify.ts";

const PREFIX = "talkjs_mirror_webhook_";

export interface WebhookMetrics {
  received(type: string): void;
  rejected(reason: RejectReason): void;
  deduplicated(): void;
  /** An item of webhook work applied to the mirror, `lagMs` after its newest event was received. */
  applied(kind: string, lagMs: number): void;
  /** An item of webhook work dequeued after failing for an hour (left to the schedule). */
  givenUp(kind: string): void;
}

export interface WebhookMetricSources {
  /** Events stored but not yet moved to the work queue (the inbox file). */
  inboxPending: () => number;
  /** Webhook work queued in the mirror's work_queue (every replica's). */
  queued: () => Promise<{ queued: number; oldestAt: Date | null }>;
  onScrapeError?: (error: unknown) => void;
  now?: () => number;
}

export function createWebhookMetrics(registry: Registry, sources: WebhookMetricSources): WebhookMetrics {
  const registers = [registry];
  const received = new Counter({
    name: `${PREFIX}events_received_total`,
    help: "Authentic webhook deliveries stored (before the 200), by event type.",
    labelNames: ["type"],
    registers,
  });
  const rejected = new Counter({
    name: `${PREFIX}events_rejected_total`,
    help: "Webhook deliveries refused and not stored, by reason (bad_signature, stale_timestamp, oversize, malformed).",
    labelNames: ["reason"],
    registers,
  });
  const deduplicated = new Counter({
    name: `${PREFIX}events_deduplicated_total`,
    help: "Deliveries whose body was already stored (TalkJS's retry, a duplicate): acknowledged, not stored again.",
    registers,
  });
  const lag = new Histogram({
    name: `${PREFIX}event_to_mirror_seconds`,
    help: "From a webhook's receipt to the mirror holding what it named, by work kind (coalesced work: its newest event).",
    labelNames: ["kind"],
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300, 1_800],
    registers,
  });
  const givenUp = new Counter({
    name: `${PREFIX}fetches_given_up_total`,
    help: "Webhook fetches dequeued after failing for an hour, by work kind: left to the next sync or reconcile.",
    labelNames: ["kind"],
    registers,
  });
  new Gauge({
    name: `${PREFIX}queue_depth`,
    help: "Webhook work waiting: inbox (events not yet planned, this process) and queue (fetches queued, all replicas).",
    labelNames: ["stage"],
    registers,
    async collect() {
      this.set({ stage: "inbox" }, sources.inboxPending());
      try {
        this.set({ stage: "queue" }, (await sources.queued()).queued);
      } catch (error) {
        sources.onScrapeError?.(error);
      }
    },
  });
  for (const reason of ["bad_signature", "stale_timestamp", "oversize", "malformed"] as const) {
    rejected.inc({ reason }, 0);
  }
  for (const kind of HOOK_KINDS) givenUp.inc({ kind }, 0);
  return {
    received: (type) => received.inc({ type }),
    rejected: (reason) => rejected.inc({ reason }),
    deduplicated: () => deduplicated.inc(),
    applied: (kind, lagMs) => lag.observe({ kind }, Math.max(0, lagMs) / 1000),
    givenUp: (kind) => givenUp.inc({ kind }),
  };
}
