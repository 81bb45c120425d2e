// Every endpoint the simulator serves under /v1/{appId}/, first match wins.
import type { Route } from "../router.ts";
import { conversationRoutes } from "./conversations.ts";
import { importRoutes } from "./import.ts";
import { messageRoutes } from "./messages.ts";
import { participantRoutes } from "./participants.ts";
import { uploadRoutes } from "./upload.ts";
import { userRoutes } from "./users.ts";

export const ROUTES: readonly Route[] = [
  ...conversationRoutes,
  ...messageRoutes,
  ...userRoutes,
  ...participantRoutes,
  ...importRoutes,
  ...uploadRoutes,
];
