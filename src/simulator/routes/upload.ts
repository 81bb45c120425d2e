// POST /v1/{appId}/files: uploads a file and answers `{ fileToken }` (API doc, Files). The body is
// multipart/form-data like TalkJS's transfer script sends it: a `file` part with the bytes (its
// filename and Content-Type on the part), optionally a `filename` field that overrides the name.
// The bytes are kept and served under /files/ like the app's other files; the token puts the file
// into a message of this app (routes/import.ts: `attachmentToken`, a `{type:"file", fileToken}`
// block). Anything else is a 400, so a client sending what TalkJS would refuse finds out here.
import { errorReply, ok } from "../http.ts";
import { BadRequest } from "../query.ts";
import { type ApiRequest, byMethod, type Route, route } from "../router.ts";

interface Part {
  name: string;
  filename: string | null;
  contentType: string | null;
  data: Buffer;
}

/** The parts of a multipart/form-data body (RFC 7578); a BadRequest when it is not one. */
export function parseMultipart(body: Buffer, contentType: string | undefined): Part[] {
  const m = /^multipart\/form-data\s*;.*boundary=(?:"([^"]+)"|([^;\s]+))/i.exec(contentType ?? "");
  if (!m) throw new BadRequest("body must be multipart/form-data with a boundary");
  const delimiter = Buffer.from(`--${m[1] ?? m[2]}`);
  const parts: Part[] = [];
  let at = body.indexOf(delimiter);
  if (at < 0) throw new BadRequest("multipart body has no part");
  for (;;) {
    at += delimiter.length;
    if (body.subarray(at, at + 2).toString() === "--") return parts; // the closing delimiter
    at += 2; // CRLF after the delimiter
    const headEnd = body.indexOf("\r\n\r\n", at);
    const next = body.indexOf(delimiter, at);
    if (headEnd < 0 || next < 0 || headEnd > next) throw new BadRequest("malformed multipart body");
    const headers = body.subarray(at, headEnd).toString("utf8").split("\r\n");
    const disposition = headers.find((h) => /^content-disposition:/i.test(h)) ?? "";
    const name = /\bname="([^"]*)"/i.exec(disposition)?.[1];
    if (name === undefined) throw new BadRequest("multipart part without a name");
    const type = headers.find((h) => /^content-type:/i.test(h));
    parts.push({
      name,
      filename: /\bfilename="([^"]*)"/i.exec(disposition)?.[1] ?? null,
      contentType: type ? type.slice(type.indexOf(":") + 1).trim() : null,
      data: body.subarray(headEnd + 4, next - 2), // the CRLF before the next delimiter is not data
    });
    at = next;
  }
}

function upload({ app, body, rawBody, contentType }: ApiRequest) {
  const parts = parseMultipart(rawBody ?? Buffer.from(body, "utf8"), contentType);
  const file = parts.find((p) => p.name === "file");
  if (!file) throw new BadRequest('multipart body needs a "file" part');
  const named = parts.find((p) => p.name === "filename")?.data.toString("utf8");
  const filename = named || file.filename;
  if (!filename) return errorReply(400, "a file needs a filename (the part's filename or a filename field)");
  const { token } = app.files.upload(
    Buffer.from(file.data),
    filename,
    file.contentType ?? "application/octet-stream",
  );
  return ok({ fileToken: token });
}

export const uploadRoutes: Route[] = [route("files", byMethod({ POST: upload }))];
