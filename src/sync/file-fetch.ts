// Downloads of file URLs: their own undici Agent (not the TalkJS client, so a file never spends
// the REST budget and never carries the TalkJS Authorization header — no header but User-Agent is
// ever sent), bounded connections, redirects followed by hand so every hop is checked. File URLs
// come from message data, so they are untrusted: only http(s), and no loopback, private or
// link-local address (checked on every address DNS gives, at connect time, so a name that
// resolves to 127.0.0.1 is refused too) unless FILES_ALLOW_PRIVATE_HOSTS=true.
import { lookup as dnsLookup, type LookupAddress } from "node:dns";
import { BlockList, isIP, type LookupFunction } from "node:net";
import { Agent, request } from "undici";
import { VERSION } from "../version.ts";

export interface FileFetcherOptions {
  /** Connections at once (FILES_CONCURRENCY). */
  connections: number;
  allowPrivateHosts: boolean;
  headersTimeoutMs?: number;
  bodyTimeoutMs?: number;
}

/** An answer with its body still to read (or to dump). */
export interface FileResponse {
  status: number;
  contentType: string | null;
  contentLength: number | null;
  body: AsyncIterable<Uint8Array> & { dump(): Promise<void> };
}

/** A URL refused before any request (scheme, private address): never worth a retry soon. */
export class RefusedUrlError extends Error {}

const MAX_REDIRECTS = 5;

/** Addresses a URL from message data must not reach (SSRF): loopback, private, link-local, …. */
const BLOCKED = new BlockList();
for (const [net, prefix] of [
  ["0.0.0.0", 8],
  ["10.0.0.0", 8],
  ["100.64.0.0", 10],
  ["127.0.0.0", 8],
  ["169.254.0.0", 16],
  ["172.16.0.0", 12],
  ["192.168.0.0", 16],
  ["224.0.0.0", 4],
  ["240.0.0.0", 4],
] as const)
  BLOCKED.addSubnet(net, prefix, "ipv4");
for (const [net, prefix] of [
  ["::", 128],
  ["::1", 128],
  ["fc00::", 7],
  ["fe80::", 10],
  ["ff00::", 8],
] as const)
  BLOCKED.addSubnet(net, prefix, "ipv6");

export function isPrivateAddress(address: string): boolean {
  const family = isIP(address);
  if (family === 0) return false;
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped) return BLOCKED.check(mapped[1] as string, "ipv4");
  return BLOCKED.check(address, family === 4 ? "ipv4" : "ipv6");
}

const refusal = (host: string, address: string) =>
  `refused: ${host} is a private, loopback or link-local address (${address}); set FILES_ALLOW_PRIVATE_HOSTS=true to allow it`;

/** dns.lookup that fails for blocked addresses: the check happens on the address connected to. */
const guardedLookup: LookupFunction = (hostname, options, callback) => {
  dnsLookup(hostname, { ...options, all: true }, (error, addresses) => {
    if (error) return callback(error, "", 0);
    const list = addresses as LookupAddress[];
    const bad = list.find((a) => isPrivateAddress(a.address));
    if (bad) return callback(new RefusedUrlError(refusal(hostname, bad.address)), "", 0);
    if (options.all) return (callback as unknown as (e: null, a: LookupAddress[]) => void)(null, list);
    const first = list[0] as LookupAddress;
    callback(null, first.address, first.family);
  });
};

export class FileFetcher {
  readonly #agent: Agent;
  readonly #allowPrivate: boolean;

  constructor(options: FileFetcherOptions) {
    this.#allowPrivate = options.allowPrivateHosts;
    this.#agent = new Agent({
      connections: options.connections,
      headersTimeout: options.headersTimeoutMs ?? 60_000,
      bodyTimeout: options.bodyTimeoutMs ?? 60_000,
      ...(options.allowPrivateHosts ? {} : { connect: { lookup: guardedLookup } }),
    });
  }

  /** Refuses a URL this fetcher must not request (throws RefusedUrlError). */
  check(raw: string): URL {
    let url: URL;
    try {
      url = new URL(raw);
    } catch {
      throw new RefusedUrlError("refused: not a URL");
    }
    if (url.protocol !== "http:" && url.protocol !== "https:")
      throw new RefusedUrlError(`refused: only http(s) URLs are downloaded, not ${url.protocol}`);
    const host = url.hostname.replace(/^\[|\]$/g, "");
    if (
      !this.#allowPrivate &&
      (host === "localhost" || host.endsWith(".localhost") || isPrivateAddress(host))
    )
      throw new RefusedUrlError(refusal(host, host));
    return url;
  }

  /** GET `raw`, following up to 5 redirects (each hop checked like the first). */
  async get(raw: string, signal?: AbortSignal): Promise<FileResponse> {
    let url = this.check(raw);
    for (let hop = 0; ; hop++) {
      const res = await request(url, {
        dispatcher: this.#agent,
        method: "GET",
        headers: { "user-agent": `talkjs-mirror/${VERSION}` },
        ...(signal ? { signal } : {}),
      });
      const location = res.headers.location;
      if (
        res.statusCode >= 300 &&
        res.statusCode < 400 &&
        typeof location === "string" &&
        hop < MAX_REDIRECTS
      ) {
        await res.body.dump();
        url = this.check(new URL(location, url).toString());
        continue;
      }
      const type = res.headers["content-type"];
      const length = Number(res.headers["content-length"]);
      return {
        status: res.statusCode,
        contentType: typeof type === "string" ? type : null,
        contentLength: Number.isFinite(length) && res.headers["content-length"] !== undefined ? length : null,
        body: res.body,
      };
    }
  }

  close(): Promise<void> {
    return this.#agent.close();
  }
}
