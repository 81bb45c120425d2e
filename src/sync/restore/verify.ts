// `restore --verify`: the round-trip proof. Mirrors the target app into a scratch database with
// the ordinary backfill (conversations, messages, users; no files) and compares it with the
// source mirror modulo the documented fields (./compare.ts).
import type { Logger } from "pino";
import type { Store } from "../../store/store.ts";
import type { TalkJSClient } from "../../talkjs/client.ts";
import type { SyncSettings } from "../jobs.ts";
import { runMirrorJob } from "../jobs.ts";
import { compareRestore } from "./compare.ts";
import type { RestoreOptions } from "./types.ts";

export async function verifyRestore(
  source: Store,
  scratch: Store,
  target: TalkJSClient,
  o: RestoreOptions,
  settings: SyncSettings,
  logger: Logger,
): Promise<string[]> {
  await runMirrorJob({ client: target, store: scratch, appId: o.targetAppId, logger }, "backfill", {
    settings: {
      ...settings,
      mirrorMessages: true,
      mirrorUsers: true,
      ...(settings.files ? { files: { ...settings.files, enabled: false } } : {}),
    },
  });
  return compareRestore(
    { store: source, appId: o.sourceAppId },
    { store: scratch, appId: o.targetAppId },
    {
      conversationIds: o.conversationIds,
      includeDeleted: o.includeDeleted,
      since: o.since,
      importShape: o.importShape,
    },
  );
}
