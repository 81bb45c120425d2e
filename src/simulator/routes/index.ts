// Every endpoint the simulator serves under /v1/{appId}/, first match wins.
import type { Route } from "../router.ts";
import { conversationRoutes } from "./conversations.ts";
import { messageRoutes } from "./messages.ts";
import { userRoutes } from "./users.ts";

export const ROUTES: readonly Route[] = [...conversationRoutes, ...messageRoutes, ...userRoutes];
