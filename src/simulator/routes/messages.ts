// A conversation's messages (list, send) and mark-as-read.
import { parseJsonBody, parseMessagesBody } from "../body.ts";
import { errorReply, ok } from "../http.ts";
import { BadRequest, parseLimit } from "../query.ts";
import { byMethod, type Route, route } from "../router.ts";

const sendOrList = byMethod({
  GET: ({ app, param, query }) => {
    const limit = parseLimit(query.limit, app.listing.maxMessageLimit, app.listing.limitMode);
    const page = app.store.listMessages(param("conversationId"), limit, query.startingAfter) ?? [];
    return ok({ data: page.map((m) => app.files.present(m)) });
  },
  POST: ({ app, param, body }) => {
    const id = param("conversationId");
    for (const m of parseMessagesBody(parseJsonBody(body))) app.store.addMessage(id, m);
    return ok();
  },
});

export const messageRoutes: Route[] = [
  // An unknown conversation is a 404 whatever the method.
  route("conversations/:conversationId/messages", (req) => {
    const id = req.param("conversationId");
    return req.app.store.has(id) ? sendOrList(req) : errorReply(404, `no conversation "${id}"`);
  }),
  route(
    "conversations/:conversationId/readBy/:userId",
    byMethod({
      POST: ({ app, param, body }) => {
        if (body.length > 0) throw new BadRequest("mark-as-read takes an empty payload");
        const id = param("conversationId");
        return app.store.markRead(id, param("userId")) ? ok() : errorReply(404, `no conversation "${id}"`);
      },
    }),
  ),
];
