// The client's users calls and the users pager, over real HTTP against the simulator: validated
// answers, push tokens stripped before anything else sees them, clamped pages, resume, and a
// listing that does not move refused rather than called complete.
import { afterEach, describe, expect, it } from "vitest";
import { startSimulator } from "../../src/simulator/index.ts";
import type { Simulator } from "../../src/simulator/types.ts";
import { createTalkJSClient, type TalkJSClient } from "../../src/talkjs/client.ts";
import { pageUsers } from "../../src/talkjs/users-pager.ts";

let sim: Simulator | undefined;
let client: TalkJSClient | undefined;
afterEach(async () => {
  await client?.close();
  await sim?.close();
});

async function setup(limitMode: "reject" | "clamp" = "reject"): Promise<{ s: Simulator; c: TalkJSClient }> {
  const s = await startSimulator({ conversations: 700, seed: 5, limitMode });
  const c = createTalkJSClient({
    appId: s.appId,
    secretKey: s.secretKey,
    baseUrl: s.url,
    rateLimit: { perSecond: 10_000, burst: 10_000 },
    retry: { minDelayMs: 1, maxDelayMs: 10, maxAttempts: 3 },
  });
  sim = s;
  client = c;
  return { s, c };
}

describe("users client", () => {
  it("gets one user without its push tokens, null for none, and validates the answer", async () => {
    const { s, c } = await setup();
    s.putUser("with tokens/ü", { name: "T", pushTokens: { "fcm:secret": true } });
    const u = await c.getUser("with tokens/ü");
    expect(u).toMatchObject({ id: "with tokens/ü", name: "T" });
    expect(u && "pushTokens" in u).toBe(false);
    expect(await c.getUser("nobody")).toBeNull();
    s.addFault({
      fault: { kind: "bad-shape", body: { id: 5 } },
      match: { pathRegex: /\/users\/[^/]+$/ },
      times: 10,
    });
    await expect(c.getUser("user_00001")).rejects.toMatchObject({ code: "TALKJS_MALFORMED_RESPONSE" });
  });

  it("pages every user once, no push token anywhere, even with a clamped limit and a resume", async () => {
    const { s, c } = await setup("clamp");
    const expected = s.allUsers().map((u) => u.id);
    expect(s.allUsers().some((u) => u.pushTokens)).toBe(true);
    const ids: string[] = [];
    let resumeAt: string | undefined;
    for await (const page of pageUsers(c, { pageSize: 500 })) {
      expect(page.users.length).toBeLessThanOrEqual(100);
      for (const u of page.users) expect(JSON.stringify(u)).not.toContain("fcm:");
      ids.push(...page.users.map((u) => u.id));
      resumeAt ??= page.cursor;
    }
    expect(ids).toEqual(expected);
    const rest: string[] = [];
    for await (const page of pageUsers(c, { from: resumeAt ?? null }))
      rest.push(...page.users.map((u) => u.id));
    expect(rest).toEqual(expected.slice(expected.indexOf(resumeAt as string) + 1));
  });

  it("refuses a listing that does not move past its anchor", async () => {
    const { s, c } = await setup();
    const first = s.allUsers()[0];
    s.addFault({
      fault: { kind: "bad-shape", body: { data: [first] } },
      match: { pathRegex: /\/users$/ },
      times: 5,
    });
    const run = async () => {
      for await (const _ of pageUsers(c)) {
        // drain
      }
    };
    await expect(run()).rejects.toMatchObject({ code: "TALKJS_MALFORMED_RESPONSE" });
  });
});
