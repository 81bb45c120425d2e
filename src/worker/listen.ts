// Starting and stopping the worker's small HTTP servers (health/metrics, webhooks) the same way.
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";

export interface Listening {
  /** `http://host:port` as a client on this machine reaches it (0.0.0.0/:: shown as 127.0.0.1). */
  origin: string;
  port: number;
  /** Stops accepting and drops kept-alive connections, so shutdown never waits on an idle client. */
  close: () => Promise<void>;
}

/** Listens on host:port (0: a free port), rejecting on a bind error such as EADDRINUSE. */
export async function listenOn(server: Server, host: string, port: number): Promise<Listening> {
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const bound = (server.address() as AddressInfo).port;
  const shownHost = host === "0.0.0.0" || host === "::" ? "127.0.0.1" : host;
  return {
    origin: `http://${shownHost.includes(":") ? `[${shownHost}]` : shownHost}:${bound}`,
    port: bound,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
