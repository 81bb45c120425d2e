// The worker's HTTP endpoint: /healthz (the process is alive and its event loop turns),
// /readyz (the mirror is usable: see readiness.ts), /metrics (Prometheus text format).
import { createServer, type Server } from "node:http";
import type { Registry } from "prom-client";
import { listenOn } from "./listen.ts";
import type { Readiness } from "./readiness.ts";

export interface HealthServer {
  /** e.g. http://127.0.0.1:9464 */
  url: string;
  port: number;
  close(): Promise<void>;
}

export interface HealthSources {
  registry: Registry;
  readiness: () => Promise<Readiness>;
  startedAt: number;
}

export async function startHealthServer(
  host: string,
  port: number,
  sources: HealthSources,
): Promise<HealthServer> {
  const server: Server = createServer((req, res) => {
    const send = (status: number, type: string, body: string): void => {
      res.writeHead(status, { "content-type": type, "cache-control": "no-store" });
      res.end(body);
    };
    const json = (status: number, body: unknown): void =>
      send(status, "application/json; charset=utf-8", `${JSON.stringify(body)}\n`);
    const path = (req.url ?? "/").split("?")[0];
    if (req.method !== "GET" && req.method !== "HEAD") return json(405, { error: "only GET" });
    const handle = async (): Promise<void> => {
      if (path === "/healthz") {
        return json(200, {
          status: "ok",
          uptimeSeconds: Math.round((Date.now() - sources.startedAt) / 1000),
        });
      }
      if (path === "/readyz") {
        const readiness = await sources.readiness();
        return json(readiness.ready ? 200 : 503, readiness);
      }
      if (path === "/metrics") {
        return send(200, sources.registry.contentType, await sources.registry.metrics());
      }
      json(404, { error: "not found", endpoints: ["/healthz", "/readyz", "/metrics"] });
    };
    handle().catch((error: unknown) => {
      // Served on every interface: no internal text (it may name paths, hosts or SQL).
      if (!res.headersSent) json(500, { error: "internal error", code: (error as { code?: unknown })?.code });
      else res.destroy();
    });
  });
  // Health checks must not keep a shutting-down process alive.
  server.keepAliveTimeout = 5_000;
  const listening = await listenOn(server, host, port);
  return { url: listening.origin, port: listening.port, close: listening.close };
}
