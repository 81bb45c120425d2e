// Deterministic fault injection: which request gets which fault depends only on the rules, the
// order of requests and the simulator seed.
import { isRecord } from "./body.ts";
import { mixSeed, mulberry32 } from "./generator.ts";
import type { Reply } from "./http.ts";
import type { FaultKind, FaultRule } from "./types.ts";

interface RuleState {
  rule: FaultRule;
  matched: number;
  fired: number;
  /** A truncate rule that fired: later matching listing pages come back empty (the listing "ended"). */
  truncated: boolean;
}

/** Default scope of a rule: listing requests, GET .../conversations (app or user listing). */
export function ruleMatches(rule: FaultRule, method: string, path: string): boolean {
  const m = rule.match;
  if (!m) return method === "GET" && /\/conversations$/.test(path);
  if (m.method !== undefined && m.method.toUpperCase() !== method) return false;
  if (m.pathPrefix !== undefined && !path.startsWith(m.pathPrefix)) return false;
  if (m.pathRegex !== undefined && !m.pathRegex.test(path)) return false;
  return true;
}

export class FaultEngine {
  private states: RuleState[] = [];
  private readonly rng: () => number;

  constructor(seed: number) {
    this.rng = mulberry32(mixSeed(seed, 99));
  }

  add(rule: FaultRule): void {
    this.states.push({ rule, matched: 0, fired: 0, truncated: false });
  }

  clear(): void {
    this.states = [];
  }

  /**
   * The fault for this request (first rule that fires wins), or null. `path` is the raw
   * (still URL-encoded) path without the query string.
   */
  decide(method: string, path: string): FaultKind | null {
    let chosen: FaultKind | null = null;
    for (const s of this.states) {
      if (!ruleMatches(s.rule, method, path)) continue;
      s.matched++;
      if (chosen) continue; // still count matches for later rules' `nth`
      if (s.truncated) {
        chosen = { kind: "truncate", keep: 0 };
        continue;
      }
      const { nth, probability } = s.rule;
      const times = s.rule.times ?? (nth !== undefined ? 1 : Number.POSITIVE_INFINITY);
      if (s.fired >= times) continue;
      let fires: boolean;
      if (nth !== undefined) fires = s.matched === nth;
      else if (probability !== undefined) fires = this.rng() < probability;
      else fires = true;
      if (!fires) continue;
      s.fired++;
      if (s.rule.fault.kind === "truncate") s.truncated = true;
      chosen = s.rule.fault;
    }
    return chosen;
  }
}

/**
 * What a fault does to a successful answer: a truncated listing page, or a body that is not JSON
 * (`rawText`, cut mid-document) or JSON of the wrong shape. Other answers pass unchanged.
 */
export function applyFault(
  reply: Reply,
  fault: FaultKind | null,
  query: Record<string, string> = {},
): { reply: Reply; rawText?: string } {
  if (reply.status !== 200 || !fault) return { reply };
  // A server whose listing "ends" after its first page: the history goes on, the page says it does not.
  if (
    fault.kind === "first-page-only" &&
    (query.startingAfter !== undefined || query.offsetTs !== undefined) &&
    isRecord(reply.body) &&
    Array.isArray(reply.body.data)
  )
    return { reply: { status: 200, body: { data: [] } } };
  if (fault.kind === "truncate" && isRecord(reply.body) && Array.isArray(reply.body.data))
    return { reply: { status: 200, body: { data: reply.body.data.slice(0, fault.keep) } } };
  if (fault.kind === "malformed-json") {
    const full = JSON.stringify(reply.body ?? {});
    return { reply, rawText: full.slice(0, Math.max(1, Math.floor(full.length / 2))) }; // never valid JSON
  }
  if (fault.kind === "bad-shape") return { reply, rawText: JSON.stringify(fault.body) };
  return { reply };
}
