// `talkjs-mirror forget` as a command, on both databases: it finds FILES_DIR through the settings,
// its dry run says how many archived files it would remove, and --yes removes exactly those.
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { BlobDir } from "../../src/sync/file-blobs.ts";
import type { Message } from "../../src/talkjs/types.ts";
import { PROVIDERS, useStore } from "../helpers/db.ts";
import { T0 } from "../store/fixtures.ts";
import { runCli } from "./run-cli.ts";

const root = mkdtempSync(path.join(os.tmpdir(), "talkjs-forget-cli-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const message = (id: string, senderId: string, url: string): Message => ({
  id,
  conversationId: "c1",
  type: "UserMessage",
  senderId,
  readBy: [],
  text: "",
  attachment: { url, size: 5 },
  location: null,
  origin: "web",
  createdAt: T0,
  editedAt: null,
  referencedMessageId: null,
  custom: {},
});

describe.each(PROVIDERS)("forget command on %s", (provider) => {
  const fixture = useStore(provider);

  it.skipIf(fixture.skip)(
    "dry run counts the archived files; --yes removes them from FILES_DIR",
    async () => {
      const { store } = fixture;
      const app = "forget_cli";
      const dir = path.join(root, provider);
      const blobs = new BlobDir(dir);
      await blobs.prepare();
      const at = new Date(T0);
      const stored: Record<string, string> = {};
      for (const [id, sender, bytes] of [
        ["m1", "erin", "erin!"],
        ["m2", "bob", "bob!!"],
      ] as const) {
        await store.messages.upsert(app, [message(id, sender, `https://cdn.example/${id}.bin`)], {
          seenAt: at,
        });
        const blob = await blobs.write(
          (async function* () {
            yield Buffer.from(bytes);
          })(),
          100,
        );
        await blobs.commit(blob);
        await store.files.recordStored(
          app,
          { messageId: id, blockIndex: -1 },
          { ...blob, contentType: null, at },
        );
        stored[sender] = blob.sha256;
      }
      const env = { DATABASE_URL: fixture.db.url, TALKJS_APP_ID: app, FILES_DIR: dir };

      const dry = await runCli(["forget", "--user", "erin"], env);
      expect(dry.stderr).not.toMatch(/error/i);
      expect(dry.stdout).toMatch(/would blank .*1 file references and remove 1 archived files/);
      expect(existsSync(blobs.pathOf(stored.erin as string))).toBe(true);

      const done = await runCli(["forget", "--user", "erin", "--yes", "--json"], env);
      expect(done.code).toBe(0);
      expect(JSON.parse(done.stdout)).toMatchObject({ applied: true, counts: { fileRefs: 1, files: 1 } });
      expect(existsSync(blobs.pathOf(stored.erin as string))).toBe(false);
      expect(existsSync(blobs.pathOf(stored.bob as string))).toBe(true);
    },
  );
});
