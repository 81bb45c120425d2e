// Failures a retry cannot fix are not retried and say what is wrong: a server that does not speak
// HTTP, a plain-HTTP port asked for HTTPS, a certificate that cannot be trusted. Real sockets.
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { createServer as createHttpsServer } from "node:https";
import { createServer as createNetServer, type Server, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { startSimulator } from "../../src/simulator/index.ts";
import { createTalkJSClient, type TalkJSClient } from "../../src/talkjs/client.ts";
import { TalkJSApiError } from "../../src/talkjs/errors.ts";
import { classifyNetworkError } from "../../src/talkjs/http.ts";

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function client(baseUrl: string): TalkJSClient {
  const c = createTalkJSClient({
    appId: "demo",
    secretKey: "sk_test_demo",
    baseUrl,
    retry: { minDelayMs: 1, maxDelayMs: 5, maxAttempts: 4 },
  });
  cleanups.push(() => c.close());
  return c;
}

async function listen(server: Server | ReturnType<typeof createHttpsServer>): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  cleanups.push(() => new Promise((resolve) => server.close(() => resolve())));
  return (server.address() as { port: number }).port;
}

async function caught(p: Promise<unknown>): Promise<TalkJSApiError> {
  try {
    await p;
  } catch (e) {
    if (e instanceof TalkJSApiError) return e;
    throw e;
  }
  throw new Error("expected a TalkJSApiError");
}

describe("network errors a retry cannot fix", () => {
  it("classifies codes", () => {
    expect(classifyNetworkError("UND_ERR_HEADERS_TIMEOUT")).toBe("timeout");
    expect(classifyNetworkError("ECONNRESET")).toBe("network");
    expect(classifyNetworkError("UND_ERR_SOCKET")).toBe("network");
    expect(classifyNetworkError("DEPTH_ZERO_SELF_SIGNED_CERT")).toBe("tls");
    expect(classifyNetworkError("CERT_HAS_EXPIRED")).toBe("tls");
    expect(classifyNetworkError("ERR_TLS_CERT_ALTNAME_INVALID")).toBe("tls");
    expect(classifyNetworkError("HPE_INVALID_CONSTANT")).toBe("protocol");
    expect(classifyNetworkError("HTTPParserError")).toBe("protocol");
    expect(classifyNetworkError("ERR_SSL_WRONG_VERSION_NUMBER")).toBe("protocol");
  });

  it("a server that does not answer HTTP: TALKJS_PROTOCOL after one attempt, naming the server", async () => {
    let connections = 0;
    const sockets = new Set<Socket>();
    const server = createNetServer((socket) => {
      connections++;
      sockets.add(socket);
      socket.end("SSH-2.0-OpenSSH_9.6\r\n");
    });
    const port = await listen(server);
    cleanups.push(async () => {
      for (const s of sockets) s.destroy();
    });
    const e = await caught(client(`http://127.0.0.1:${port}`).listConversations());
    expect(e.code).toBe("TALKJS_PROTOCOL");
    expect(e.message).toMatch(
      new RegExp(`^The server at http://127.0.0.1:${port} did not answer HTTP \\(HTTPParserError\\)`),
    );
    expect(e.attempts).toBe(1);
    expect(connections).toBe(1);
  });

  it("HTTPS to a plain-HTTP port: TALKJS_PROTOCOL, not retried", async () => {
    const sim = await startSimulator({ conversations: 1 });
    cleanups.push(() => sim.close());
    const e = await caught(client(sim.url.replace("http:", "https:")).listConversations());
    expect(e.code).toBe("TALKJS_PROTOCOL");
    expect(e.message).toMatch(/did not answer HTTPS \(/);
    expect(e.attempts).toBe(1);
  });

  it("a certificate that cannot be trusted: TALKJS_TLS, not retried", async () => {
    const dir = mkdtempSync(join(tmpdir(), "talkjs-cert-"));
    execFileSync(
      "openssl",
      [
        ...["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1"],
        ...["-keyout", join(dir, "key.pem"), "-out", join(dir, "cert.pem")],
      ],
      { stdio: "ignore" },
    );
    let requests = 0;
    const server = createHttpsServer(
      { key: readFileSync(join(dir, "key.pem")), cert: readFileSync(join(dir, "cert.pem")) },
      (_req, res) => {
        requests++;
        res.end("{}");
      },
    );
    const port = await listen(server);
    const e = await caught(client(`https://127.0.0.1:${port}`).listConversations());
    expect(e.code).toBe("TALKJS_TLS");
    expect(e.message).toMatch(
      /certificate that cannot be trusted \((DEPTH_ZERO_SELF_SIGNED_CERT|SELF_SIGNED)/,
    );
    expect(e.attempts).toBe(1);
    expect(requests).toBe(0);
  });
});
