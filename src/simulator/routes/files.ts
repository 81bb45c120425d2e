// GET /files/{fileId}/{filename}: the simulated app's CDN. Not under /v1/ and without
// authorisation, like TalkJS's file URLs; streamed in chunks so a large file is never in memory.
// File faults (FaultRule with match.pathPrefix "/files/") break the answer the way CDNs do.
import type { IncomingMessage, ServerResponse } from "node:http";
import { type FileCatalog, fileChunks } from "../files.ts";
import { errorReply, header, type Query, send, splitPath } from "../http.ts";
import type { FaultKind } from "../types.ts";

const HTML_PAGE =
  "<!DOCTYPE html><html><head><title>Sign in</title></head><body>Please sign in to continue.</body></html>";

/** Answers a /files/ request; returns the status written (0 when the connection was cut). */
export async function serveFile(
  req: IncomingMessage,
  res: ServerResponse,
  target: { path: string; query: Query },
  files: FileCatalog,
  fault: FaultKind | null,
  now: number,
): Promise<number> {
  if (req.method !== "GET" && req.method !== "HEAD") {
    send(res, errorReply(405, `${req.method} not supported here`));
    return 405;
  }
  // The mirror must never hand TalkJS's key to a file host; refusing it makes a leak fail loudly.
  if (header(req.headers, "authorization") !== undefined) {
    send(res, errorReply(400, "file URLs take no Authorization header"));
    return 400;
  }
  const id = splitPath(target.path)[2] ?? "";
  const file = files.find(id);
  if (!file) {
    send(res, errorReply(404, `no file "${id}"`));
    return 404;
  }
  if (files.ttlMs !== null) {
    const expires = Number(target.query.expires);
    if (!Number.isFinite(expires) || expires < now) {
      send(res, errorReply(403, "Request has expired"));
      return 403;
    }
  }
  if (fault?.kind === "html-page") {
    res.writeHead(200, { "content-type": "text/html; charset=utf-8", "content-length": HTML_PAGE.length });
    res.end(HTML_PAGE);
    return 200;
  }
  // wrong-length: a different file than the message declared (17 bytes more), served consistently.
  const size = fault?.kind === "wrong-length" ? file.size + 17 : file.size;
  res.writeHead(200, { "content-type": file.contentType, "content-length": size });
  if (req.method === "HEAD") {
    res.end();
    return 200;
  }
  let sent = 0;
  for (const chunk of fileChunks(file, size)) {
    if (fault?.kind === "reset-mid-body" && sent + chunk.length >= size / 2) {
      res.write(chunk.subarray(0, Math.max(1, Math.floor(size / 2) - sent)));
      await new Promise((resolve) => setTimeout(resolve, 5)); // let the half reach the client first
      req.socket.destroy();
      return 0;
    }
    if (fault?.kind === "stall-mid-body" && sent < size / 2 && sent + chunk.length >= size / 2) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, fault.ms);
        res.once("close", () => {
          clearTimeout(timer);
          resolve();
        });
      });
      if (res.destroyed) return 0;
    }
    sent += chunk.length;
    // Respect backpressure: a slow reader must not make the simulator buffer the whole file.
    if (!res.write(chunk)) await drained(res);
    if (res.destroyed) return 0;
  }
  res.end();
  return 200;
}

/** Waits until the response can take more (or is gone), leaving no listener behind. */
function drained(res: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      res.off("drain", done);
      res.off("close", done);
      resolve();
    };
    res.on("drain", done);
    res.on("close", done);
  });
}
