// Paging the users listing: ordered by id, the next page asked with startingAfter=<last id>. Only
// an empty page ends it (a short page proves nothing: a server may clamp `limit`). Ids never
// change, so the last id is a stable resume point; a deleted anchor still has its place in the
// order, so no re-anchoring is needed as for conversations.
import type { TalkJSClient } from "./client.ts";
import { TalkJSApiError } from "./errors.ts";
import type { MirroredUser } from "./types.ts";

/** The users listing's largest page. */
export const USER_PAGE_SIZE = 100;

export interface UserPage {
  users: MirroredUser[];
  /** The id to resume after (the page's last id): checkpoint it with the page. */
  cursor: string;
  /** When the response arrived (ms): the store keeps the copy fetched last. */
  fetchedAt: number;
}

/** Async generator of the users listing's pages, from `from` (exclusive) or the start. */
export async function* pageUsers(
  client: Pick<TalkJSClient, "listUsers">,
  options: { from?: string | null; pageSize?: number } = {},
  signal?: AbortSignal,
): AsyncGenerator<UserPage> {
  let after = options.from ?? undefined;
  const limit = options.pageSize ?? USER_PAGE_SIZE;
  for (;;) {
    const users = await client.listUsers(
      { limit, ...(after !== undefined ? { startingAfter: after } : {}) },
      signal,
    );
    const last = users.at(-1);
    if (last === undefined) return;
    // A page that does not move past its anchor would be asked again forever; treating it as the
    // end would call an incomplete listing complete (and let reconcile mark users deleted).
    if (last.id === after) {
      throw new TalkJSApiError(
        "TALKJS_MALFORMED_RESPONSE",
        `the users listing did not move past "${after}": refusing to loop or to call it complete`,
      );
    }
    after = last.id;
    yield { users, cursor: last.id, fetchedAt: Date.now() };
  }
}
