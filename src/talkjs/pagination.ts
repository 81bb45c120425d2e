import type { TalkJSClient } from "./client.ts";
import { TalkJSApiError } from "./errors.ts";
import {
  type Conversation,
  type ConversationFilter,
  type ListConversationsParams,
  lastActivityOf,
  type OrderDirection,
} from "./types.ts";

/**
 * Resume point, JSON-serialisable. `ts` is the boundary timestamp (last one yielded), `idsAtTs`
 * the ids already yielded AT that timestamp (bounded memory), `startingAfter` set while walking
 * a tie group bigger than a page.
 */
export interface PagerCursor {
  ts: number | null;
  idsAtTs: string[];
  startingAfter?: string;
  /**
   * Set after a startingAfter request came back empty for an anchor that no longer exists (or was
   * refused): the rest of its tie group is re-asked by timestamp, once, before the listing ends.
   */
  verifying?: true;
}

export interface PagerParams {
  orderBy: "createdAt" | "lastActivity";
  orderDirection: OrderDirection;
  lastMessageAfter?: number;
  lastMessageBefore?: number;
  filter?: ConversationFilter;
  pageSize?: number;
  from?: PagerCursor;
}

export interface ConversationPage {
  conversations: Conversation[];
  cursor: PagerCursor;
  /** When the response arrived (ms): the store keeps the copy fetched last, whatever the write order. */
  fetchedAt: number;
}

export const INITIAL_CURSOR: PagerCursor = { ts: null, idsAtTs: [] };

function keyOf(orderBy: PagerParams["orderBy"], c: Conversation): number {
  return orderBy === "createdAt" ? c.createdAt : lastActivityOf(c);
}

/**
 * The request for the next page. With a boundary we ask from ONE MILLISECOND BEFORE it (ASC) or
 * after it (DESC), so the whole boundary group comes back whether the server reads offsetTs as
 * inclusive or exclusive; already-yielded ids are then dropped by `advanceCursor`.
 */
export function nextPageRequest(
  cursor: PagerCursor,
  params: PagerParams,
  pageSize: number,
): ListConversationsParams {
  const req: ListConversationsParams = {
    limit: pageSize,
    orderBy: params.orderBy,
    orderDirection: params.orderDirection,
  };
  if (params.lastMessageAfter !== undefined) req.lastMessageAfter = params.lastMessageAfter;
  if (params.lastMessageBefore !== undefined) req.lastMessageBefore = params.lastMessageBefore;
  if (params.filter !== undefined) req.filter = params.filter;
  if (cursor.startingAfter !== undefined) req.startingAfter = cursor.startingAfter;
  else if (cursor.ts !== null) req.offsetTs = params.orderDirection === "ASC" ? cursor.ts - 1 : cursor.ts + 1;
  return req;
}

export interface Advance {
  /** Items not yielded before (to hand to the consumer). */
  fresh: Conversation[];
  cursor: PagerCursor;
  done: boolean;
}

/**
 * Pure cursor step. A page ends the listing only when empty. We switch to `startingAfter=<last id>`
 * when the offset request would return the same page again: nothing fresh (inclusive reading,
 * page entirely seen), or the boundary did not move / the page is all one timestamp.
 */
export function advanceCursor(
  cursor: PagerCursor,
  page: Conversation[],
  params: Pick<PagerParams, "orderBy" | "orderDirection">,
): Advance {
  const last = page.at(-1);
  if (last === undefined) {
    if (cursor.startingAfter !== undefined && !cursor.verifying) {
      return { fresh: [], cursor: verifyFrom(cursor), done: false };
    }
    return { fresh: [], cursor, done: true };
  }
  const dir = params.orderDirection === "ASC" ? 1 : -1;
  const key = (c: Conversation): number => keyOf(params.orderBy, c);
  const seen = new Set(cursor.idsAtTs);
  const bts = cursor.ts;
  const fresh = page.filter((c) => {
    if (bts === null) return true;
    const d = (key(c) - bts) * dir;
    return d > 0 || (d === 0 && !seen.has(c.id));
  });
  const lastKey = key(last);
  const newTs = bts === null || (lastKey - bts) * dir > 0 ? lastKey : bts;
  const atNew = page.filter((c) => key(c) === newTs).map((c) => c.id);
  const idsAtTs = newTs === bts ? [...new Set([...cursor.idsAtTs, ...atNew])] : atNew;
  const allOneTs = page.every((c) => key(c) === newTs);
  const stuck = fresh.length === 0 || newTs === bts || allOneTs;
  const next: PagerCursor = stuck ? { ts: newTs, idsAtTs, startingAfter: last.id } : { ts: newTs, idsAtTs };
  // Still confirming an end: keep the flag until something new turns up, so the check runs once.
  if (cursor.verifying && fresh.length === 0) next.verifying = true;
  // Guard: a startingAfter walk that yields nothing new and cannot move its anchor is finished.
  const done = fresh.length === 0 && cursor.startingAfter !== undefined && cursor.startingAfter === last.id;
  return { fresh, cursor: next, done };
}

/** The cursor that re-asks by timestamp instead of by a startingAfter anchor that may be gone. */
export function verifyFrom(cursor: PagerCursor): PagerCursor {
  return { ts: cursor.ts, idsAtTs: cursor.idsAtTs, verifying: true };
}

/** Async generator of pages; checkpoint `cursor` after committing a page, pass it back as `from`. */
export async function* pageConversations(
  client: Pick<TalkJSClient, "listConversations" | "getConversation" | "pageSize">,
  params: PagerParams,
  signal?: AbortSignal,
): AsyncGenerator<ConversationPage> {
  let cursor: PagerCursor = params.from ?? INITIAL_CURSOR;
  const pageSize = params.pageSize ?? client.pageSize;
  for (;;) {
    let page: Conversation[];
    try {
      page = await client.listConversations(nextPageRequest(cursor, params, pageSize), signal);
    } catch (error) {
      // TalkJS may refuse a startingAfter that names a conversation deleted since (our checkpoint
      // outlives it): re-anchor by timestamp once rather than failing every resume forever.
      const refused = error instanceof TalkJSApiError && error.code === "TALKJS_HTTP_400";
      if (!refused || cursor.startingAfter === undefined || cursor.verifying) throw error;
      cursor = verifyFrom(cursor);
      continue;
    }
    const fetchedAt = Date.now();
    if (page.length === 0 && cursor.startingAfter !== undefined && !cursor.verifying) {
      // An empty answer after an anchor is the end — unless the anchor was deleted meanwhile and
      // TalkJS answers "nothing after an unknown id". One GET tells the two apart.
      if ((await client.getConversation(cursor.startingAfter, signal)) !== null) return;
    }
    const step = advanceCursor(cursor, page, params);
    if (step.done) return;
    cursor = step.cursor;
    if (step.fresh.length > 0) yield { conversations: step.fresh, cursor, fetchedAt };
  }
}
