// Parsing and validation of query parameters, as pure functions. Anything malformed becomes a
// `BadRequest`, which the server answers with 400 {"errorCode":"INVALID_REQUEST","reason":...}.
import type { ConversationFilter, FieldPredicate, OrderBy, OrderDirection } from "../talkjs/types.ts";
import type { LimitMode } from "./types.ts";

export class BadRequest extends Error {}

/** `TalkJS-REST-Version` before this answers listings in createdAt DESC only, ignoring offsetTs. */
export const ORDERING_VERSION = "2021-02-09";
/** From this version on, listing the conversations of an unknown user answers 404. */
export const USER_404_VERSION = "2024-01-01";
/** A missing header means "the latest version" (the dashboard default of a new app). */
export const LATEST_VERSION = "9999-12-31";

export function parseRestVersion(header: string | undefined): string {
  if (header === undefined || header === "") return LATEST_VERSION;
  if (!/^\d{4}-\d{2}-\d{2}$/.test(header))
    throw new BadRequest(`TalkJS-REST-Version must be YYYY-MM-DD, got "${header}"`);
  return header; // ISO dates compare correctly as strings
}

export function parseLimit(raw: string | undefined, max: number, mode: LimitMode, fallback = 10): number {
  if (raw === undefined) return Math.min(fallback, max);
  if (!/^\d+$/.test(raw)) throw new BadRequest(`limit must be a positive integer, got "${raw}"`);
  const n = Number(raw);
  if (n < 1) throw new BadRequest("limit must be at least 1");
  if (n > max) {
    if (mode === "clamp") return max;
    throw new BadRequest(`limit must be at most ${max}`);
  }
  return n;
}

export function parseTimestamp(name: string, raw: string | undefined): number | undefined {
  if (raw === undefined) return undefined;
  if (!/^-?\d{1,16}$/.test(raw))
    throw new BadRequest(`${name} must be a Unix timestamp in milliseconds, got "${raw}"`);
  return Number(raw);
}

export function parseOrderBy(raw: string | undefined): OrderBy {
  if (raw === undefined || raw === "lastActivity" || raw === "createdAt") return raw ?? "lastActivity";
  throw new BadRequest(`orderBy must be lastActivity or createdAt, got "${raw}"`);
}

export function parseOrderDirection(raw: string | undefined): OrderDirection {
  if (raw === undefined || raw === "DESC" || raw === "ASC") return raw ?? "DESC";
  throw new BadRequest(`orderDirection must be DESC or ASC, got "${raw}"`);
}

const isStringArray = (v: unknown): v is string[] =>
  Array.isArray(v) && v.every((x) => typeof x === "string");

function parsePredicate(where: string, v: unknown): FieldPredicate {
  if (Array.isArray(v) && v.length === 2) {
    const [op, operand] = v as [unknown, unknown];
    if ((op === "==" || op === "!=") && typeof operand === "string") return [op, operand];
    if ((op === "oneOf" || op === "!oneOf") && isStringArray(operand)) return [op, operand];
  }
  throw new BadRequest(`${where} must be ["==" | "!=", string] or ["oneOf" | "!oneOf", string[]]`);
}

/**
 * Parses the `filter` parameter. Strict on purpose: unknown keys or operators are a 400, so a
 * client that sends a filter the simulator does not understand finds out instead of silently
 * getting unfiltered data.
 */
export function parseFilter(raw: string | undefined): ConversationFilter | undefined {
  if (raw === undefined) return undefined;
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch {
    throw new BadRequest("filter is not valid JSON");
  }
  if (typeof json !== "object" || json === null || Array.isArray(json))
    throw new BadRequest("filter must be a JSON object");
  const filter: ConversationFilter = {};
  for (const [key, value] of Object.entries(json)) {
    if (key === "custom") {
      if (typeof value !== "object" || value === null || Array.isArray(value))
        throw new BadRequest("filter.custom must be an object");
      const custom: NonNullable<ConversationFilter["custom"]> = {};
      for (const [field, pred] of Object.entries(value)) {
        custom[field] =
          pred === "exists" || pred === "!exists" ? pred : parsePredicate(`filter.custom.${field}`, pred);
      }
      filter.custom = custom;
    } else if (key === "access") {
      filter.access = parsePredicate("filter.access", value);
    } else if (key === "hasUnreadMessages") {
      if (typeof value !== "boolean") throw new BadRequest("filter.hasUnreadMessages must be a boolean");
      filter.hasUnreadMessages = value;
    } else {
      throw new BadRequest(`unknown filter field "${key}"`);
    }
  }
  return filter;
}

/** `==`/`oneOf` need the value to be present; `!=`/`!oneOf` also match an absent value. */
export function matchesPredicate(pred: FieldPredicate, value: string | undefined): boolean {
  switch (pred[0]) {
    case "==":
      return value === pred[1];
    case "!=":
      return value !== pred[1];
    case "oneOf":
      return value !== undefined && pred[1].includes(value);
    case "!oneOf":
      return value === undefined || !pred[1].includes(value);
  }
}

export function matchesCustom(filter: ConversationFilter["custom"], custom: Record<string, string>): boolean {
  if (filter === undefined) return true;
  for (const [field, pred] of Object.entries(filter)) {
    const value = Object.hasOwn(custom, field) ? custom[field] : undefined;
    if (pred === "exists") {
      if (value === undefined) return false;
    } else if (pred === "!exists") {
      if (value !== undefined) return false;
    } else if (!matchesPredicate(pred, value)) {
      return false;
    }
  }
  return true;
}
