// The HTTP plumbing of the simulator, independent of any endpoint: the reply shape, TalkJS-style
// error bodies, reading a request body and the request target, writing an answer. Every answer is
// JSON (`{}` when there is nothing to say), like TalkJS.
import type { IncomingMessage, ServerResponse } from "node:http";
import { BadRequest } from "./query.ts";

/** An answer before it is written: handlers return this, faults may rewrite it. */
export interface Reply {
  status: number;
  body: unknown;
  headers?: Record<string, string>;
}

/** The query string as TalkJS reads it: one value per name (the last one wins). */
export type Query = Record<string, string>;

const ERROR_CODES: Record<number, string> = {
  400: "INVALID_REQUEST",
  401: "UNAUTHORIZED",
  404: "NOT_FOUND",
  405: "METHOD_NOT_ALLOWED",
  413: "PAYLOAD_TOO_LARGE",
  429: "TOO_MANY_REQUESTS",
  500: "INTERNAL_SERVER_ERROR",
  502: "BAD_GATEWAY",
  503: "SERVICE_UNAVAILABLE",
  504: "GATEWAY_TIMEOUT",
};

/** A 200 answer; `{}` when there is nothing to say. */
export const ok = (body: unknown = {}): Reply => ({ status: 200, body });

/** An error answer with TalkJS's body: `{"errorCode": ..., "reason": ...}`. */
export const errorReply = (status: number, reason: string, headers?: Record<string, string>): Reply => ({
  status,
  body: { errorCode: ERROR_CODES[status] ?? "ERROR", reason },
  ...(headers ? { headers } : {}),
});

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

const MAX_BODY = 10 * 1024 * 1024;

/** The whole request body as text; rejects past MAX_BODY (the caller answers 413). */
export async function readBody(req: IncomingMessage): Promise<string> {
  return (await readRawBody(req)).toString("utf8");
}

/** The body's bytes (file uploads are binary: decoding them as text would corrupt them). */
export function readRawBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY) reject(new Error("body too large"));
      else chunks.push(c);
    });
    req.on("end", () => resolve(Buffer.concat(chunks)));
    req.on("error", reject);
  });
}

/** Splits a request target into its raw (still encoded) path and its decoded query. */
export function parseTarget(rawUrl: string): { path: string; query: Query } {
  const q = rawUrl.indexOf("?");
  const path = q < 0 ? rawUrl : rawUrl.slice(0, q);
  const query: Query = Object.fromEntries(new URLSearchParams(q < 0 ? "" : rawUrl.slice(q + 1)));
  return { path, query };
}

/** Splits the raw path on "/" first, then decodes each segment, so an encoded "/" stays inside an id. */
export function splitPath(rawPath: string): string[] {
  return rawPath.split("/").map((s) => {
    try {
      return decodeURIComponent(s);
    } catch {
      throw new BadRequest(`malformed percent-encoding in path segment "${s}"`);
    }
  });
}

/** Writes a reply; `rawText` replaces the JSON body (a fault's malformed or wrong-shaped body). */
export function send(res: ServerResponse, reply: Reply, rawText?: string): void {
  const text = rawText ?? JSON.stringify(reply.body ?? {});
  res.writeHead(reply.status, {
    "content-type": "application/json; charset=utf-8",
    "content-length": Buffer.byteLength(text),
    ...reply.headers,
  });
  res.end(text);
}

/** The value of a header that may be sent more than once: the first one. */
export function header(headers: IncomingMessage["headers"], name: string): string | undefined {
  const v = headers[name];
  return Array.isArray(v) ? v[0] : v;
}
