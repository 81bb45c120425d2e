// `verify`: proof that a backup matches TalkJS without a full re-read. A uniform random sample of
// the mirrored conversations (live and deleted) is fetched again and compared with the stored copy
// by content hash. What changed at TalkJS after the mirror's last pass is "newer" (expected on a
// live app), not a difference; what differs otherwise is named by id and field names (never text).
// Read-only: no run row, no write, and the TalkJS client's rate limit applies to every request.
import { contentHash } from "../store/hash.ts";
import { toDate } from "../store/sql/shared.ts";
import { conversationIdPage, conversationsToVerify, messagesToVerify } from "../store/sql/verify.ts";
import type { Store } from "../store/store.ts";
import type { TalkJSClient } from "../talkjs/client.ts";
import { TalkJSApiError } from "../talkjs/errors.ts";
import { type Conversation, lastActivityOf, type Message } from "../talkjs/types.ts";
import { mapLimited } from "./limit.ts";

export interface VerifyOptions {
  /** Conversations to check (all of them when the mirror has fewer). */
  sample: number;
  /** Also re-read each sampled conversation's message history and compare every message. */
  messages: boolean;
  /** Seed of the sample (the same seed on the same mirror draws the same sample). */
  seed: number;
  concurrency?: number;
  signal?: AbortSignal;
}

export interface VerifyDifference {
  /** The conversation id, or `<conversation id>/<message id>` for a message. */
  id: string;
  /** Which fields differ (names only: a backup's report never repeats message text). */
  fields: string[];
}

export interface VerifySummary {
  appId: string;
  seed: number;
  /** Mirrored conversations (live and deleted) the sample was drawn from. */
  population: number;
  checked: number;
  matching: number;
  /** Changed at TalkJS since the mirror's last pass (includes `goneAtTalkJS`). */
  newer: number;
  /** Live in the mirror, deleted at TalkJS since the last reconcile (counted in `newer`). */
  goneAtTalkJS: number;
  differing: number;
  /** Deleted in the mirror and still deleted at TalkJS (a 404). */
  stillDeleted: number;
  messages: boolean;
  /** Messages compared (with --messages). */
  messagesChecked: number;
  /** The differences found, at most 100 listed. */
  differences: VerifyDifference[];
  /** With `confidence`, fewer than this share (0..1) of the mirror's conversations differ. */
  differingBound: number;
  /** True when every conversation was checked: the bound is then the exact share. */
  exact: boolean;
  confidence: number;
}

const ID_PAGE = 1_000;
const ROW_CHUNK = 200;
const MAX_LISTED = 100;
export const CONFIDENCE = 0.95;

/** mulberry32: a small seeded PRNG, so a sample can be drawn again with its seed. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

/** P(X ≤ k) for X ~ Binomial(n, p), summed in log space (n up to millions stays finite). */
function binomialCdf(k: number, n: number, p: number): number {
  if (p <= 0) return 1;
  if (p >= 1) return k >= n ? 1 : 0;
  let logTerm = n * Math.log1p(-p);
  let sum = Math.exp(logTerm);
  const ratio = Math.log(p) - Math.log1p(-p);
  for (let i = 0; i < k; i++) {
    logTerm += Math.log((n - i) / (i + 1)) + ratio;
    sum += Math.exp(logTerm);
  }
  return Math.min(1, sum);
}

/**
 * One-sided upper confidence bound on the share of differing conversations: the Clopper–Pearson
 * bound (exact for a binomial; conservative for a sample drawn without replacement). With no
 * difference in n it is 1 − (1 − confidence)^(1/n), e.g. ≈ 3/n at 95%.
 */
export function differingUpperBound(differing: number, checked: number, confidence = CONFIDENCE): number {
  if (checked === 0) return 1;
  if (differing >= checked) return 1;
  let lo = differing / checked;
  let hi = 1;
  for (let i = 0; i < 60; i++) {
    const mid = (lo + hi) / 2;
    if (binomialCdf(differing, checked, mid) > 1 - confidence) lo = mid;
    else hi = mid;
  }
  return hi;
}

function parseRaw(value: unknown): unknown {
  if (typeof value !== "string") return value;
  try {
    return JSON.parse(value);
  } catch {
    return value;
  }
}

/** Top-level fields whose canonical JSON differs between the stored and the fetched object. */
function differingFields(stored: unknown, remote: unknown): string[] {
  const a = (stored ?? {}) as Record<string, unknown>;
  const b = (remote ?? {}) as Record<string, unknown>;
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  return [...keys].filter((k) => contentHash(a[k] ?? null) !== contentHash(b[k] ?? null)).sort();
}

/** Draws `size` ids uniformly (reservoir sampling over the keyset-paged ids: memory stays O(size)). */
async function drawSample(
  store: Store,
  appId: string,
  size: number,
  random: () => number,
): Promise<{ ids: string[]; population: number }> {
  const reservoir: string[] = [];
  let seen = 0;
  let afterId: string | undefined;
  for (;;) {
    const rows = await store.queryRaw(conversationIdPage(appId, ID_PAGE, afterId));
    if (rows.length === 0) break;
    for (const row of rows) {
      const id = String(row.id);
      seen += 1;
      if (reservoir.length < size) reservoir.push(id);
      else {
        const j = Math.floor(random() * seen);
        if (j < size) reservoir[j] = id;
      }
    }
    afterId = String(rows.at(-1)?.id);
  }
  return { ids: reservoir.sort(), population: seen };
}

type Verdict =
  | { kind: "matching" | "stillDeleted" | "goneAtTalkJS" | "newer" }
  | { kind: "differing"; differences: VerifyDifference[] };

export async function runVerify(
  client: TalkJSClient,
  store: Store,
  appId: string,
  options: VerifyOptions,
): Promise<VerifySummary> {
  const { ids, population } = await drawSample(store, appId, options.sample, rng(options.seed));
  const summary: VerifySummary = {
    appId,
    seed: options.seed,
    population,
    checked: 0,
    matching: 0,
    newer: 0,
    goneAtTalkJS: 0,
    differing: 0,
    stillDeleted: 0,
    messages: options.messages,
    messagesChecked: 0,
    differences: [],
    differingBound: 1,
    exact: ids.length === population,
    confidence: CONFIDENCE,
  };
  for (let i = 0; i < ids.length; i += ROW_CHUNK) {
    const part = ids.slice(i, i + ROW_CHUNK);
    const rows = await store.queryRaw(conversationsToVerify(appId, part));
    const verdicts = await mapLimited(rows, options.concurrency ?? 4, (row) =>
      verifyConversation(client, store, appId, row, options, (n) => {
        summary.messagesChecked += n;
      }),
    );
    for (const verdict of verdicts) {
      summary.checked += 1;
      if (verdict.kind === "differing") {
        summary.differing += 1;
        for (const d of verdict.differences) {
          if (summary.differences.length < MAX_LISTED) summary.differences.push(d);
        }
      } else if (verdict.kind === "goneAtTalkJS") {
        summary.goneAtTalkJS += 1;
        summary.newer += 1;
      } else summary[verdict.kind] += 1;
    }
  }
  summary.differingBound = summary.exact
    ? population === 0
      ? 0
      : summary.differing / population
    : differingUpperBound(summary.differing, summary.checked);
  return summary;
}

async function verifyConversation(
  client: TalkJSClient,
  store: Store,
  appId: string,
  row: Record<string, unknown>,
  options: VerifyOptions,
  countMessages: (n: number) => void,
): Promise<Verdict> {
  const id = String(row.id);
  const remote = await client.getConversation(id, options.signal);
  const deleted = row.deleted_at !== null && row.deleted_at !== undefined;
  if (remote === null) return { kind: deleted ? "stillDeleted" : "goneAtTalkJS" };
  if (deleted) return { kind: "differing", differences: [{ id, fields: ["deleted_at"] }] };
  const syncedAt = toDate(row.synced_at)?.getTime() ?? 0;
  const stored = parseRaw(row.raw);
  const remoteHash = contentHash(remote);
  const matches = String(row.content_hash) === remoteHash && contentHash(stored) === remoteHash;
  if (!matches && lastActivityOf(remote) > syncedAt) return { kind: "newer" };
  const differences: VerifyDifference[] = [];
  if (!matches) {
    const fields = differingFields(stored, remote);
    differences.push({ id, fields: fields.length > 0 ? fields : ["content_hash"] });
  }
  let newer = false;
  if (options.messages) {
    const messagesSyncedAt = toDate(row.messages_synced_at)?.getTime() ?? syncedAt;
    const result = await verifyMessages(client, store, appId, remote, messagesSyncedAt, options.signal);
    countMessages(result.checked);
    differences.push(...result.differences);
    newer = result.newer;
  }
  if (differences.length > 0) return { kind: "differing", differences };
  return { kind: newer ? "newer" : "matching" };
}

/** Re-reads one history to its end and compares every message with the mirror. */
async function verifyMessages(
  client: TalkJSClient,
  store: Store,
  appId: string,
  conversation: Conversation,
  syncedAt: number,
  signal: AbortSignal | undefined,
): Promise<{ checked: number; newer: boolean; differences: VerifyDifference[] }> {
  const rows = await store.queryRaw(messagesToVerify(appId, conversation.id));
  const mirrored = new Map(rows.map((r) => [String(r.id), r]));
  const differences: VerifyDifference[] = [];
  let newer = false;
  let checked = 0;
  let startingAfter: string | undefined;
  const seen = new Set<string>();
  for (;;) {
    let page: Message[];
    try {
      page = await client.listMessages(
        conversation.id,
        { limit: 100, ...(startingAfter !== undefined ? { startingAfter } : {}) },
        signal,
      );
    } catch (error) {
      // Deleted between the GET and the listing: a change at TalkJS, not a difference.
      if (error instanceof TalkJSApiError && error.status === 404)
        return { checked, newer: true, differences };
      throw error;
    }
    if (page.length === 0) break;
    for (const m of page) {
      checked += 1;
      seen.add(m.id);
      const row = mirrored.get(m.id);
      const changedAt = Math.max(m.createdAt, m.editedAt ?? 0);
      const id = `${conversation.id}/${m.id}`;
      if (!row || (row.deleted_at !== null && row.deleted_at !== undefined)) {
        if (changedAt > syncedAt) newer = true;
        else differences.push({ id, fields: [row ? "deleted_at" : "missing"] });
        continue;
      }
      const stored = parseRaw(row.raw);
      const hash = contentHash(m);
      if (String(row.content_hash) === hash && contentHash(stored) === hash) continue;
      if (changedAt > (toDate(row.synced_at)?.getTime() ?? 0)) newer = true;
      else {
        const fields = differingFields(stored, m);
        differences.push({ id, fields: fields.length > 0 ? fields : ["content_hash"] });
      }
    }
    startingAfter = page.at(-1)?.id;
  }
  // Live in the mirror, gone at TalkJS: deletions reach the mirror only through a deep reconcile.
  for (const [id, row] of mirrored) {
    if (!seen.has(id) && (row.deleted_at === null || row.deleted_at === undefined)) newer = true;
  }
  return { checked, newer, differences };
}
