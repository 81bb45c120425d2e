// PUT / DELETE /v1/{appId}/conversations/{id}/participants/{userId}: one participant's access and
// notify (PUT adds the user, or changes an existing participant's settings).
import { isRecord, parseJsonBody } from "../body.ts";
import { errorReply, ok } from "../http.ts";
import { BadRequest } from "../query.ts";
import { byMethod, type Route, route } from "../router.ts";

export const participantRoutes: Route[] = [
  route(
    "conversations/:conversationId/participants/:userId",
    byMethod({
      PUT: ({ app, param, body }) => {
        const id = param("conversationId");
        if (!app.store.has(id)) return errorReply(404, `no conversation "${id}"`);
        const json = parseJsonBody(body) ?? {};
        if (!isRecord(json)) throw new BadRequest("body must be an object");
        const { access, notify } = json;
        if (access !== undefined && access !== "ReadWrite" && access !== "Read" && access !== "None")
          throw new BadRequest("access must be ReadWrite, Read or None");
        if (notify !== undefined && typeof notify !== "boolean")
          throw new BadRequest("notify must be a boolean");
        app.store.setParticipant(id, param("userId"), {
          ...(access !== undefined ? { access } : {}),
          ...(notify !== undefined ? { notify } : {}),
        });
        return ok();
      },
      DELETE: ({ app, param }) => {
        const id = param("conversationId");
        if (!app.store.has(id)) return errorReply(404, `no conversation "${id}"`);
        app.store.removeParticipant(id, param("userId"));
        return ok();
      },
    }),
  ),
];
