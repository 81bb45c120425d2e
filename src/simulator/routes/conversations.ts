// Conversations: the app's listing, a user's listing, and one conversation (get, PUT, delete).
import type { UserId } from "../../talkjs/types.ts";
import type { ListQuery } from "../app-store.ts";
import { parseConversationPatch, parseJsonBody } from "../body.ts";
import { errorReply, ok, type Reply } from "../http.ts";
import {
  BadRequest,
  ORDERING_VERSION,
  parseFilter,
  parseLimit,
  parseOrderBy,
  parseOrderDirection,
  parseTimestamp,
  USER_404_VERSION,
} from "../query.ts";
import { type ApiRequest, byMethod, type Route, route } from "../router.ts";

export const conversationRoutes: Route[] = [
  route("conversations", byMethod({ GET: (req) => listConversations(req, undefined) })),
  route(
    "users/:userId/conversations",
    byMethod({ GET: (req) => listConversations(req, req.param("userId")) }),
  ),
  route(
    "conversations/:conversationId",
    byMethod({
      GET: ({ app, param }) => {
        const id = param("conversationId");
        const conv = app.store.conversation(id);
        return conv ? ok(conv) : errorReply(404, `no conversation "${id}"`);
      },
      PUT: ({ app, param, body }) => {
        app.store.upsertConversation(param("conversationId"), parseConversationPatch(parseJsonBody(body)));
        return ok();
      },
      DELETE: ({ app, param }) => {
        const id = param("conversationId");
        return app.store.deleteConversation(id, true) ? ok() : errorReply(404, `no conversation "${id}"`);
      },
    }),
  ),
];

function listConversations(req: ApiRequest, userId: UserId | undefined): Reply {
  const { app, query, version } = req;
  const limit = parseLimit(query.limit, app.listing.maxConversationLimit, app.listing.limitMode);
  // Before 2021-02-09 the order is createdAt DESC and cannot be changed; offsetTs did not exist.
  const legacy = version < ORDERING_VERSION;
  const filter = parseFilter(query.filter);
  if (userId === undefined && filter && (filter.access || filter.hasUnreadMessages !== undefined))
    throw new BadRequest("filter.access and filter.hasUnreadMessages only apply to a user's conversations");
  const q: ListQuery = {
    orderBy: legacy ? "createdAt" : parseOrderBy(query.orderBy),
    direction: legacy ? "DESC" : parseOrderDirection(query.orderDirection),
    limit,
    startingAfter: query.startingAfter,
    offsetTs: legacy ? undefined : parseTimestamp("offsetTs", query.offsetTs),
    offsetTsMode: app.listing.offsetTsMode,
    deletedAnchor: app.listing.deletedAnchor,
    lastMessageBefore: parseTimestamp("lastMessageBefore", query.lastMessageBefore),
    lastMessageAfter: parseTimestamp("lastMessageAfter", query.lastMessageAfter),
    filter,
    userId,
  };
  const data = app.store.list(q);
  if (
    userId !== undefined &&
    data.length === 0 &&
    !app.store.userExists(userId) &&
    version >= USER_404_VERSION
  ) {
    return errorReply(404, `no user "${userId}"`);
  }
  return ok({ data });
}
