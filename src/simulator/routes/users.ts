// Users: the app's listing (ordered by id, paged by startingAfter), one user (GET, PUT create or
// merge), and the batch PUT of up to 100 users, all-or-nothing. The listing of a user's
// conversations is in ./conversations.ts.
import { isRecord, parseJsonBody } from "../body.ts";
import { errorReply, ok } from "../http.ts";
import { BadRequest, parseLimit } from "../query.ts";
import { byMethod, type Route, route } from "../router.ts";
import { parseUserPatch } from "../user-directory.ts";

/** The users listing's largest page (API reference, "Users"). */
export const MAX_USER_LIMIT = 100;
/** Users one batch PUT may carry. */
const MAX_BATCH = 100;

export const userRoutes: Route[] = [
  route(
    "users",
    byMethod({
      GET: ({ app, query }) => {
        const limit = parseLimit(query.limit, MAX_USER_LIMIT, app.listing.limitMode);
        return ok({ data: app.store.directory.list(limit, query.startingAfter) });
      },
      PUT: ({ app, body }) => {
        const json = parseJsonBody(body);
        if (!isRecord(json)) throw new BadRequest("body must be an object of userId -> user");
        const entries = Object.entries(json);
        if (entries.length > MAX_BATCH) throw new BadRequest(`at most ${MAX_BATCH} users per request`);
        // Validate every user before changing any: the batch is all-or-nothing.
        const patches = entries.map(([id, u]) => [id, parseUserPatch(u, `users["${id}"]`)] as const);
        for (const [id, patch] of patches) app.store.directory.put(id, patch);
        return ok();
      },
    }),
  ),
  route(
    "users/:userId",
    byMethod({
      GET: ({ app, param }) => {
        const id = param("userId");
        const user = app.store.directory.get(id);
        return user ? ok(user) : errorReply(404, `no user "${id}"`);
      },
      PUT: ({ app, param, body }) => {
        app.store.directory.put(param("userId"), parseUserPatch(parseJsonBody(body)));
        return ok();
      },
    }),
  ),
];
