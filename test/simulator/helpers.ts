// Shared helpers for the simulator tests: real HTTP with global fetch, JWTs signed by hand.
import { createHmac } from "node:crypto";
import { expect } from "vitest";
import type { Simulator } from "../../src/simulator/index.ts";
import type { Conversation, Message } from "../../src/talkjs/types.ts";

export function signJwt(
  payload: Record<string, unknown>,
  secret: string,
  header: Record<string, unknown> = { alg: "HS256", typ: "JWT" },
): string {
  const enc = (o: unknown) => Buffer.from(JSON.stringify(o)).toString("base64url");
  const body = `${enc(header)}.${enc(payload)}`;
  return `${body}.${createHmac("sha256", secret).update(body).digest("base64url")}`;
}

export function appJwt(
  sim: Pick<Simulator, "appId" | "secretKey">,
  overrides: Record<string, unknown> = {},
): string {
  return signJwt(
    { tokenType: "app", iss: sim.appId, exp: Math.floor(Date.now() / 1000) + 30, ...overrides },
    sim.secretKey,
  );
}

export interface Answer<T = unknown> {
  status: number;
  body: T;
  headers: Headers;
}

/** Calls the simulator; `path` is relative to /v1/{appId}/ and must already be URL-encoded. */
export async function call<T = unknown>(
  sim: Simulator,
  path: string,
  init: { method?: string; body?: string; token?: string | null; headers?: Record<string, string> } = {},
): Promise<Answer<T>> {
  const headers: Record<string, string> = { ...init.headers };
  const token = init.token === undefined ? sim.secretKey : init.token;
  if (token !== null) headers.authorization = `Bearer ${token}`;
  const res = await fetch(`${sim.url}/v1/${sim.appId}/${path}`, {
    method: init.method ?? "GET",
    headers,
    ...(init.body !== undefined ? { body: init.body } : {}),
  });
  const text = await res.text();
  expect(res.headers.get("content-type")).toMatch(/^application\/json/);
  return { status: res.status, body: JSON.parse(text) as T, headers: res.headers };
}

export type Page = { data: Conversation[] };
export type MessagePage = { data: Message[] };

export function qs(params: Record<string, string | number | object | undefined>): string {
  const sp = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v === undefined) continue;
    sp.set(k, typeof v === "object" ? JSON.stringify(v) : String(v));
  }
  const s = sp.toString();
  return s ? `?${s}` : "";
}

export async function page(
  sim: Simulator,
  params: Record<string, string | number | object | undefined>,
  base = "conversations",
) {
  const res = await call<Page>(sim, `${base}${qs(params)}`);
  expect(res.status).toBe(200);
  return res.body.data;
}

/** Pages a listing to the end with startingAfter (only an empty page ends it). */
export async function listAll(
  sim: Simulator,
  params: Record<string, string | number | object | undefined>,
  base = "conversations",
) {
  const all: Conversation[] = [];
  let after: string | undefined;
  for (;;) {
    const data = await page(sim, { ...params, startingAfter: after }, base);
    if (data.length === 0) return all;
    all.push(...data);
    after = data[data.length - 1]?.id;
  }
}
