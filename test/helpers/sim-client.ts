// A TalkJS client of one simulated app, as the restore tests use them: the app's own key, the rate
// limit lifted, quick retries, silent.
import { createLogger } from "../../src/log.ts";
import type { Simulator } from "../../src/simulator/types.ts";
import { createTalkJSClient, type TalkJSClient } from "../../src/talkjs/client.ts";
import type { TalkJSClientOptions } from "../../src/talkjs/config.ts";

const logger = createLogger({ level: "silent" });

export function simClient(
  sim: Simulator,
  appId: string,
  extra: Partial<TalkJSClientOptions> = {},
): TalkJSClient {
  return createTalkJSClient({
    appId,
    secretKey: `sk_test_${appId}`,
    baseUrl: sim.url,
    rateLimit: { perSecond: 10_000, burst: 10_000 },
    retry: { minDelayMs: 1, maxDelayMs: 20, maxAttempts: 5 },
    logger,
    ...extra,
  });
}
