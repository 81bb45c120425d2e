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
 * Resume point, JSON-serialisable (the backfill checkpoints it after every page).
 *
 * - `ts`: the boundary key (the last one yielded).
 * - `idsAtTs`: the most recent ids yielded AT `ts`, oldest first, at most `TIE_IDS_KEPT` (or one
 *   page): what a re-ask by timestamp drops as already seen, and the earlier anchors tried when the
 *   current one is gone. Bounded, so a tie group of 50,000 conversations keeps the checkpoint small;
 *   a re-ask of a bigger group yields its older members again (upserts are idempotent). A
 *   checkpoint written before the bound may hold more: it is trimmed at the next page.
 * - `startingAfter`: the anchor of the next request. For createdAt orders it is the normal step
 *   (one request per page, nothing asked twice); for lastActivity orders, where conversations move,
 *   it is used only to walk a tie group bigger than a page.
 * - `verifying`: the anchor could not be trusted (gone, refused, or an empty answer of a filtered
 *   listing) and the boundary is being re-asked by timestamp; an empty answer now ends the listing.
 * - `emptyAfter`: while verifying, the anchor whose startingAfter answer was empty: a re-ask page
 *   ending on it (nothing new) proves that empty answer was the end.
 */
export interface PagerCursor {
  ts: number | null;
  idsAtTs: string[];
  startingAfter?: string;
  verifying?: true;
  emptyAfter?: string;
}

/** Ids at the boundary a cursor keeps (issue 15 item 6); a page longer than this keeps the page's. */
export const TIE_IDS_KEPT = 100;

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
 * createdAt never changes, so a conversation's place in a createdAt listing never moves and the
 * last id yielded is a safe anchor for the next page. In a lastActivity listing a conversation
 * jumps to the end when it gets a message (the API reference warns about exactly this): an anchor
 * that moved would skip everything between its old and new place, so those listings step by
 * timestamp and use an anchor only inside a tie group.
 */
export function anchorsAreStable(params: Pick<PagerParams, "orderBy">): boolean {
  return params.orderBy === "createdAt";
}

/**
 * A filter (lastMessageAfter/Before, custom) can drop the anchor itself from the listing, and the
 * docs do not say what startingAfter does then: an empty answer is checked by timestamp, not by a
 * GET (which would say "exists" and end the listing early).
 */
function isFiltered(params: PagerParams): boolean {
  return (
    params.filter !== undefined ||
    params.lastMessageAfter !== undefined ||
    params.lastMessageBefore !== undefined
  );
}

/**
 * The request for the next page: after the anchor when there is one; otherwise (first page of a
 * window, a re-ask) from ONE MILLISECOND BEFORE the boundary (ASC) or after it (DESC), so the whole
 * boundary group comes back whether the server reads offsetTs as inclusive or exclusive; already
 * yielded ids are then dropped by `advanceCursor`.
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

/** The last `max(TIE_IDS_KEPT, atLeast)` ids. */
function keepRecent(ids: string[], atLeast: number): string[] {
  const cap = Math.max(TIE_IDS_KEPT, atLeast);
  return ids.length > cap ? ids.slice(-cap) : ids;
}

/**
 * Pure cursor step. A page ends the listing only when empty. createdAt listings always go on with
 * `startingAfter=<last id>`; lastActivity listings switch to it only when the offset request would
 * return the same page again: nothing fresh (inclusive reading, page entirely seen), or the
 * boundary did not move / the page is all one timestamp.
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
  const idsAtTs = keepRecent(
    newTs === bts ? [...new Set([...cursor.idsAtTs, ...atNew])] : atNew,
    page.length,
  );
  const allOneTs = page.every((c) => key(c) === newTs);
  const stuck = fresh.length === 0 || newTs === bts || allOneTs;
  const next: PagerCursor =
    stuck || anchorsAreStable(params)
      ? { ts: newTs, idsAtTs, startingAfter: last.id }
      : { ts: newTs, idsAtTs };
  // Still confirming an end: keep the flag until something new turns up, so the check runs once.
  if (cursor.verifying && fresh.length === 0) {
    next.verifying = true;
    if (cursor.emptyAfter !== undefined) next.emptyAfter = cursor.emptyAfter;
  }
  // Guards: a startingAfter walk that yields nothing new and cannot move its anchor is finished;
  // so is a re-ask that ends, with nothing new, on the anchor whose startingAfter answer was empty.
  const done =
    fresh.length === 0 &&
    ((cursor.startingAfter !== undefined && cursor.startingAfter === last.id) ||
      (cursor.verifying === true && cursor.emptyAfter === last.id));
  return { fresh, cursor: next, done };
}

/**
 * The cursor that re-asks by timestamp instead of by a startingAfter anchor. `emptyAfter`: the
 * anchor whose answer was empty, when it may still exist (see `PagerCursor.emptyAfter`).
 */
export function verifyFrom(cursor: PagerCursor, emptyAfter?: string): PagerCursor {
  const next: PagerCursor = { ts: cursor.ts, idsAtTs: cursor.idsAtTs, verifying: true };
  if (emptyAfter !== undefined) next.emptyAfter = emptyAfter;
  return next;
}

/**
 * The anchor is gone (a GET answered 404) or refused (400). In a createdAt listing the conversation
 * yielded just before it is as good an anchor (nothing sits between two ids yielded in a row), so
 * try the most recent earlier id at the boundary first — each try drops one id, so this ends —
 * and re-ask by timestamp only when none is left. A big tie group is then not walked again from
 * its start just because the one conversation the checkpoint names was deleted.
 */
export function afterLostAnchor(cursor: PagerCursor, params: Pick<PagerParams, "orderBy">): PagerCursor {
  const lost = cursor.startingAfter;
  const rest = cursor.idsAtTs.filter((id) => id !== lost);
  const earlier = rest.at(-1);
  if (anchorsAreStable(params) && earlier !== undefined) {
    return { ts: cursor.ts, idsAtTs: rest, startingAfter: earlier };
  }
  return verifyFrom({ ts: cursor.ts, idsAtTs: rest });
}

/** Async generator of pages; checkpoint `cursor` after committing a page, pass it back as `from`. */
export async function* pageConversations(
  client: Pick<TalkJSClient, "listConversations" | "getConversation" | "pageSize">,
  params: PagerParams,
  signal?: AbortSignal,
): AsyncGenerator<ConversationPage> {
  let cursor: PagerCursor = params.from ?? INITIAL_CURSOR;
  const pageSize = params.pageSize ?? client.pageSize;
  const dir = params.orderDirection === "ASC" ? 1 : -1;
  const behind = (c: Conversation): boolean =>
    cursor.ts !== null && (keyOf(params.orderBy, c) - cursor.ts) * dir < 0;
  for (;;) {
    const request = nextPageRequest(cursor, params, pageSize);
    const anchor = request.startingAfter;
    let page: Conversation[];
    try {
      page = await client.listConversations(request, signal);
    } catch (error) {
      // TalkJS may refuse a startingAfter that names a conversation deleted since (our checkpoint
      // outlives it): re-anchor rather than failing every resume forever.
      const refused = error instanceof TalkJSApiError && error.code === "TALKJS_HTTP_400";
      if (!refused || anchor === undefined || cursor.verifying) throw error;
      // A 400 about something else (a bad filter, a limit refused) must fail at once, not walk
      // back through every kept anchor: only a GET that finds the anchor gone lets us re-anchor.
      if ((await client.getConversation(anchor, signal)) !== null) throw error;
      cursor = afterLostAnchor(cursor, params);
      continue;
    }
    const fetchedAt = Date.now();
    if (anchor !== undefined && !cursor.verifying) {
      if (page.length === 0) {
        // An empty answer after an anchor is the end — unless the anchor was deleted meanwhile and
        // TalkJS answers "nothing after an unknown id". One GET tells the two apart; in a filtered
        // listing (the anchor may have left it) the boundary is re-asked by timestamp instead.
        if (isFiltered(params)) {
          cursor = verifyFrom(cursor, anchor);
          continue;
        }
        if ((await client.getConversation(anchor, signal)) !== null) return;
        cursor = afterLostAnchor(cursor, params);
        continue;
      }
      // Anything before the boundary means the anchor was not honoured as a position (the server
      // restarted the listing, or a lastActivity anchor moved): re-ask by timestamp.
      if (page.some(behind)) {
        cursor = verifyFrom(cursor);
        continue;
      }
    }
    const step = advanceCursor(cursor, page, params);
    if (step.done) return;
    cursor = step.cursor;
    if (step.fresh.length > 0) yield { conversations: step.fresh, cursor, fetchedAt };
  }
}
