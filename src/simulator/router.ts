// Routing of /v1/{appId}/… : find the app, check its key and the REST version, then hand the rest
// of the path to the first route whose pattern matches. An endpoint family is a list of routes in
// ./routes/ — adding one (users, files, import) is a new module there and a line in ROUTES.
import type { IncomingMessage } from "node:http";
import type { AppStore } from "./app-store.ts";
import { checkAuthorization } from "./auth.ts";
import type { FileCatalog } from "./files.ts";
import { errorReply, header, type Query, type Reply, splitPath } from "./http.ts";
import { parseRestVersion } from "./query.ts";
import type { DeletedAnchorMode, ImportShape, LimitMode, OffsetTsMode } from "./types.ts";

/** How the listings of an app behave (switchable at run time through Simulator.setOptions). */
export interface ListingSettings {
  offsetTsMode: OffsetTsMode;
  deletedAnchor?: DeletedAnchorMode;
  limitMode: LimitMode;
  /** Max page size of the conversations listing and of the messages listing. */
  maxConversationLimit: number;
  maxMessageLimit: number;
}

/** One simulated TalkJS app, as the routes see it. */
export interface SimulatedApp {
  readonly appId: string;
  readonly secretKey: string;
  readonly store: AppStore;
  readonly listing: ListingSettings;
  /** The files its messages point to (served under /files/, outside /v1/). */
  readonly files: FileCatalog;
  /** How the import endpoint behaves (routes/import.ts). */
  readonly importing: ImportSettings;
}

/** The import endpoint's accepted payload and largest batch (switchable through setOptions). */
export interface ImportSettings {
  shape: ImportShape;
  maxBatch: number;
}

/** A request that reached an app: authorised, with its REST version and the path's parameters. */
export interface ApiRequest {
  method: string;
  /** The `:name` segment of the matched pattern, decoded (never empty). */
  param: (name: string) => string;
  query: Query;
  body: string;
  /** The body's bytes (file uploads: binary); absent when the caller had only text. */
  rawBody?: Buffer;
  /** The request's Content-Type header, if any. */
  contentType?: string | undefined;
  /** TalkJS-REST-Version (YYYY-MM-DD); the latest when the header is missing. */
  version: string;
  app: SimulatedApp;
}

export type Handler = (req: ApiRequest) => Reply;

export interface Route {
  /** Segments after /v1/{appId}/: literals, and `:name` for one non-empty segment. */
  pattern: readonly string[];
  handle: Handler;
}

/** A route; `pattern` is written like "conversations/:conversationId/messages". */
export const route = (pattern: string, handle: Handler): Route => ({ pattern: pattern.split("/"), handle });

/** Dispatches on the method; any other method is a 405. */
export function byMethod(handlers: Partial<Record<string, Handler>>): Handler {
  return (req) => {
    const handler = Object.hasOwn(handlers, req.method) ? handlers[req.method] : undefined;
    return handler ? handler(req) : errorReply(405, `${req.method} not supported here`);
  };
}

/** The parameters when `segments` fit `pattern`, else null. */
export function matchPattern(
  pattern: readonly string[],
  segments: readonly string[],
): Record<string, string> | null {
  if (pattern.length !== segments.length) return null;
  const params: Record<string, string> = {};
  for (const [i, p] of pattern.entries()) {
    const s = segments[i] as string;
    if (p.startsWith(":")) {
      if (s === "") return null;
      params[p.slice(1)] = s;
    } else if (p !== s) return null;
  }
  return params;
}

export interface IncomingApiRequest {
  method: string;
  /** Raw (still encoded) path, without the query string. */
  path: string;
  query: Query;
  body: string;
  rawBody?: Buffer;
  headers: IncomingMessage["headers"];
}

/**
 * Answers a request to /v1/{appId}/…: 404 for another path or an unknown app, 401 before
 * anything about the endpoint is revealed, 400 for a malformed REST version, then the route.
 */
export function routeRequest(
  req: IncomingApiRequest,
  findApp: (appId: string) => SimulatedApp | undefined,
  routes: readonly Route[],
): Reply {
  const segs = splitPath(req.path);
  if (segs[0] !== "" || segs[1] !== "v1" || segs.length < 4) return errorReply(404, "no such endpoint");
  const appId = segs[2] as string;
  const app = findApp(appId);
  if (!app) return errorReply(404, `no app "${appId}"`);
  const denied = checkAuthorization(
    header(req.headers, "authorization"),
    app.appId,
    app.secretKey,
    Date.now(),
  );
  if (denied !== null) return errorReply(401, denied);
  const version = parseRestVersion(header(req.headers, "talkjs-rest-version"));
  const rest = segs.slice(3);
  for (const r of routes) {
    const params = matchPattern(r.pattern, rest);
    if (!params) continue;
    const param = (name: string): string => {
      const v = params[name];
      if (v === undefined) throw new Error(`route ${r.pattern.join("/")} has no :${name}`);
      return v;
    };
    return r.handle({
      method: req.method,
      param,
      query: req.query,
      body: req.body,
      rawBody: req.rawBody ?? Buffer.from(req.body, "utf8"),
      contentType: header(req.headers, "content-type"),
      version,
      app,
    });
  }
  return errorReply(404, "no such endpoint");
}
