// Restore re-uploads archived files, on SQLite and PostgreSQL against the simulator over real HTTP:
// app A mirrored with its files (some too large to archive) → restore into an empty app B → B's
// messages have attachments whose bytes (fetched from their new URLs) are the archived originals;
// a rerun uploads nothing; files not archived come back as text and are counted; --verify's compare
// matches files by filename and size. The script shape carries several file blocks per message.
import { createHash } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { createLogger } from "../../src/log.ts";
import { startSimulator } from "../../src/simulator/index.ts";
import type { Simulator } from "../../src/simulator/types.ts";
import { messageFilesOf } from "../../src/store/sql/files.ts";
import type { Store } from "../../src/store/store.ts";
import type { FilesSettings } from "../../src/sync/files.ts";
import { runMirrorJob, type SyncSettings } from "../../src/sync/jobs.ts";
import { compareRestore } from "../../src/sync/restore/compare.ts";
import { planRestore, runRestore } from "../../src/sync/restore/engine.ts";
import type { ImportShape, RestoreOptions } from "../../src/sync/restore/types.ts";
import type { TalkJSClient } from "../../src/talkjs/client.ts";
import type { Message } from "../../src/talkjs/types.ts";
import { createMetrics } from "../../src/worker/metrics.ts";
import { PROVIDERS, useStore } from "../helpers/db.ts";
import { simClient } from "../helpers/sim-client.ts";

const root = mkdtempSync(path.join(os.tmpdir(), "talkjs-restore-files-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));
const logger = createLogger({ level: "silent" });
const closing: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const close of closing.splice(0)) await close();
});

let counter = 0;
const sha256 = (b: Buffer) => createHash("sha256").update(b).digest("hex");
/** Generated attachments are 100 B … 64 KB: this limit leaves a share of them not archived. */
const MAX_BYTES = 40_000;

function settings(files: Partial<FilesSettings> | null): SyncSettings {
  return {
    clockSkewMs: 5_000,
    maxDeleteShare: 0.1,
    mirrorMessages: true,
    mirrorUsers: true,
    messageConcurrency: 3,
    backfillConcurrency: 1,
    ...(files === null
      ? {}
      : {
          files: {
            enabled: true,
            dir: path.join(root, `files-${process.pid}-${++counter}`),
            concurrency: 4,
            maxBytes: MAX_BYTES,
            allowPrivateHosts: true,
            goneAfterDays: 7,
            ...files,
          },
        }),
  };
}

function clientFor(sim: Simulator, appId: string): TalkJSClient {
  const c = simClient(sim, appId);
  closing.push(() => c.close());
  return c;
}

async function setup(store: Store, shape: ImportShape, before?: (sim: Simulator) => void) {
  const source = `rf_${process.pid}_${++counter}`;
  const target = `${source}_b`;
  const sim = await startSimulator({
    conversations: 40,
    seed: 11 + counter,
    apps: [source, target],
    importShape: shape,
  });
  closing.push(() => sim.close());
  before?.(sim);
  const mirrorSettings = settings({});
  await runMirrorJob({ client: clientFor(sim, source), store, appId: source, logger }, "backfill", {
    settings: mirrorSettings,
  });
  const options: RestoreOptions = {
    sourceAppId: source,
    targetAppId: target,
    conversationIds: null,
    since: null,
    includeDeleted: false,
    skipExisting: false,
    importShape: shape,
    batchSize: shape === "script" ? 100 : 10,
    targetRatePerSecond: 9,
    filesDir: mirrorSettings.files?.dir ?? null,
  };
  // The file references of user messages (system messages cannot be imported, files or not).
  const userMessages = new Set(
    sim
      .allConversations()
      .flatMap((c) => sim.messages(c.id))
      .filter((m) => m.type === "UserMessage" && m.senderId)
      .map((m) => m.id),
  );
  const refs = (await store.queryRaw(messageFilesOf(source)))
    .map((r) => ({
      messageId: String(r.message_id),
      status: String(r.status),
      sha256: r.sha256 === null ? null : String(r.sha256),
      filename: r.filename === null ? null : String(r.filename),
      size: r.declared_size === null ? null : Number(r.declared_size),
    }))
    .filter((r) => userMessages.has(r.messageId));
  return { sim, source, target, options, refs, targetClient: clientFor(sim, target) };
}

const uploads = (sim: Simulator) =>
  sim.requestLog.filter((r) => r.method === "POST" && /^\/v1\/[^/]+\/files$/.test(r.path));
const imports = (sim: Simulator) =>
  sim.requestLog.filter((r) => r.method === "POST" && r.path.includes("/import/"));

/** Every file URL of a message (attachment and file blocks). */
function urlsOf(m: Message): string[] {
  const blocks = (Array.isArray(m.content) ? m.content : []) as { type?: string; url?: string }[];
  return [
    ...(m.attachment ? [m.attachment.url] : []),
    ...blocks.filter((b) => b.type === "file" && typeof b.url === "string").map((b) => b.url as string),
  ];
}

/** The sha256 of every file the target app's messages point to, fetched over HTTP like any client. */
async function targetFileHashes(sim: Simulator, target: string): Promise<string[]> {
  const app = sim.appStore(target);
  const out: string[] = [];
  for (const c of app?.allConversations() ?? [])
    for (const m of app?.messages(c.id) ?? [])
      for (const url of urlsOf(m)) {
        const res = await fetch(url);
        expect(res.status).toBe(200);
        out.push(sha256(Buffer.from(await res.arrayBuffer())));
      }
  return out.sort();
}

describe.each(PROVIDERS)("restore with files on %s", (provider) => {
  const fixture = useStore(provider);

  it("re-uploads archived files once, restores the rest as text (counted); a rerun uploads nothing", async () => {
    const store = fixture.store;
    const a = await setup(store, "documented");
    const stored = a.refs.filter((r) => r.status === "stored");
    const notArchived = a.refs.filter((r) => r.status !== "stored");
    expect(stored.length).toBeGreaterThan(2);
    expect(notArchived.length).toBeGreaterThan(0);
    expect(notArchived.every((r) => r.status === "skipped_too_large")).toBe(true);

    const plan = await planRestore(store, a.options);
    expect(plan.files.toUpload).toBe(new Set(stored.map((r) => r.sha256)).size);
    expect(plan.files.bytes).toBeGreaterThan(0);
    expect(plan.requests.uploads).toBe(plan.files.toUpload);
    expect(plan.notRestorable.filesNotArchived).toBe(notArchived.length);
    expect(a.sim.requestLog.filter((r) => r.path.startsWith(`/v1/${a.target}/`))).toEqual([]);

    const summary = await runRestore(store, a.targetClient, a.options);
    expect(summary.filesUploaded).toBe(plan.files.toUpload);
    expect(summary.filesUploadedBytes).toBe(plan.files.bytes);
    expect(summary.filesNotArchived).toBe(notArchived.length);
    expect(uploads(a.sim)).toHaveLength(plan.files.toUpload);
    // B's files, fetched from their new URLs, are the archived originals, one per archived reference
    expect(await targetFileHashes(a.sim, a.target)).toEqual(stored.map((r) => r.sha256 as string).sort());
    // the messages whose file was not archived are there, as their text, without a file
    const restored = (a.sim.appStore(a.target)?.allConversations() ?? []).flatMap(
      (c) => a.sim.appStore(a.target)?.messages(c.id) ?? [],
    );
    expect(restored.length).toBe(plan.messages);

    // the round trip's compare: files by filename and size (URLs differ by design)
    await runMirrorJob({ client: a.targetClient, store, appId: a.target, logger }, "backfill", {
      settings: settings(null),
    });
    expect(
      await compareRestore(
        { store, appId: a.source },
        { store, appId: a.target },
        { conversationIds: null, includeDeleted: false, importShape: "documented" },
      ),
    ).toEqual([]);

    // /metrics reads the restore from restore_totals (one row), not from this process's counters
    expect(await store.restore.totals(a.source)).toEqual({
      runsSucceeded: 1,
      runsFailed: 0,
      messagesRestored: summary.messagesImported,
      filesRestored: summary.filesUploaded,
    });
    const metrics = createMetrics({
      httpStats: () => a.targetClient.stats,
      totals: async () => null,
      restores: () => store.restore.totals(a.source),
    });
    const text = await metrics.registry.metrics();
    expect(text).toContain('talkjs_mirror_restore_runs_total{outcome="succeeded"} 1');
    expect(text).toContain(`talkjs_mirror_restored_messages_total ${summary.messagesImported}`);
    expect(text).toContain(`talkjs_mirror_restored_files_total ${summary.filesUploaded}`);

    // a rerun: tokens come from the ledger, nothing is uploaded or imported again
    a.sim.clearRequestLog();
    const replan = await planRestore(store, a.options);
    expect(replan.files.toUpload).toBe(0);
    const again = await runRestore(store, a.targetClient, a.options);
    expect(again.filesUploaded).toBe(0);
    expect(uploads(a.sim)).toEqual([]);
    expect(imports(a.sim)).toEqual([]);
  });

  it("a message whose import is lost after its files were uploaded reuses their tokens on the next run", async () => {
    const store = fixture.store;
    const a = await setup(store, "documented");
    // the first upload is applied, then the import of its message fails with a 400 (not applied)
    a.sim.addFault({
      fault: { kind: "status", status: 400 },
      match: { method: "POST", pathPrefix: `/v1/${a.target}/import/` },
      times: 1000,
      probability: 1,
    });
    await expect(runRestore(store, a.targetClient, a.options)).rejects.toMatchObject({
      code: "TALKJS_HTTP_400",
    });
    const first = uploads(a.sim).length;
    a.sim.clearFaults();
    a.sim.clearRequestLog();
    const summary = await runRestore(store, a.targetClient, a.options);
    const distinct = new Set(a.refs.filter((r) => r.status === "stored").map((r) => r.sha256)).size;
    expect(first + summary.filesUploaded).toBe(distinct);
    expect(summary.filesReused).toBeGreaterThanOrEqual(first);
    expect(uploads(a.sim)).toHaveLength(summary.filesUploaded);
    const totals = await store.restore.totals(a.source);
    expect(totals).toMatchObject({ runsSucceeded: 1, runsFailed: 1, filesRestored: distinct });
    expect(totals?.messagesRestored).toBe(summary.messagesImported);
  });

  it("script shape: several file blocks come back, the same bytes under two names under both, and an unknown token is refused", async () => {
    const store = fixture.store;
    let twoFiles = "";
    const a = await setup(store, "script", (sim) => {
      const conv = sim.allConversations()[0];
      if (!conv) throw new Error("no conversation");
      const sender = Object.keys(conv.participants)[0] as string;
      const f1 = sim.addFile({ size: 1_234, filename: "report.pdf", contentType: "application/pdf" });
      const f2 = sim.addFile({ size: 20_000, filename: "photo one.jpg", contentType: "image/jpeg" });
      twoFiles = sim.addMessage(conv.id, {
        senderId: sender,
        text: "two files",
        content: [
          { type: "text", children: ["two files"] },
          { type: "file", url: f1.url, filename: f1.filename, size: f1.size },
          { type: "file", url: f2.url, filename: f2.filename, size: f2.size },
        ],
      }).id;
      // The same bytes under two names (a forwarded file renamed): each must come back under its own.
      for (const name of ["same-a.txt", "same-b.txt"]) {
        const f = sim.addFile({ size: 777, filename: name, contentType: "text/plain", bytesSeed: 99 });
        sim.addMessage(conv.id, {
          senderId: sender,
          text: `same bytes as ${name}`,
          content: [
            { type: "text", children: [`same bytes as ${name}`] },
            { type: "file", url: f.url, filename: f.filename, size: f.size },
          ],
        });
      }
    });
    const sameBytes = a.refs.filter((r) => r.status === "stored" && r.size === 777);
    expect(sameBytes).toHaveLength(2);
    expect(new Set(sameBytes.map((r) => r.sha256)).size).toBe(1);
    expect(a.refs.filter((r) => r.messageId === twoFiles && r.status === "stored")).toHaveLength(2);
    const summary = await runRestore(store, a.targetClient, a.options);
    expect(summary.filesNotArchived).toBe(a.refs.filter((r) => r.status !== "stored").length);
    const restored = (a.sim.appStore(a.target)?.allConversations() ?? [])
      .flatMap((c) => a.sim.appStore(a.target)?.messages(c.id) ?? [])
      .find((m) => m.text === "two files");
    const blocks = (restored?.content ?? []) as { type: string; filename?: string; size?: number }[];
    expect(blocks.filter((b) => b.type === "file").map((b) => [b.filename, b.size])).toEqual([
      ["report.pdf", 1_234],
      ["photo one.jpg", 20_000],
    ]);
    for (const name of ["same-a.txt", "same-b.txt"]) {
      const m = (a.sim.appStore(a.target)?.allConversations() ?? [])
        .flatMap((c) => a.sim.appStore(a.target)?.messages(c.id) ?? [])
        .find((x) => x.text === `same bytes as ${name}`);
      const files = ((m?.content ?? []) as { type: string; filename?: string }[]).filter(
        (b) => b.type === "file",
      );
      expect(files.map((b) => b.filename)).toEqual([name]);
    }
    // one upload per (bytes, name): the two names of the same bytes are two uploads
    expect(uploads(a.sim)).toHaveLength(summary.filesUploaded);
    expect(summary.filesUploaded).toBe(
      new Set(a.refs.filter((r) => r.status === "stored").map((r) => `${r.sha256}\n${r.filename}`)).size,
    );
    expect(await targetFileHashes(a.sim, a.target)).toEqual(
      a.refs
        .filter((r) => r.status === "stored")
        .map((r) => r.sha256 as string)
        .sort(),
    );
    await runMirrorJob({ client: a.targetClient, store, appId: a.target, logger }, "backfill", {
      settings: settings(null),
    });
    expect(
      await compareRestore(
        { store, appId: a.source },
        { store, appId: a.target },
        { conversationIds: null, includeDeleted: false, importShape: "script" },
      ),
    ).toEqual([]);
    // a token of another app (or none at all) is a 400: nothing is imported
    const conv = a.sim.appStore(a.target)?.allConversations()[0];
    await expect(
      a.targetClient.importMessages(conv?.id as string, [
        { sender: "x", createdAt: 1, content: [{ type: "file", fileToken: "ft_nope" }] },
      ]),
    ).rejects.toMatchObject({ code: "TALKJS_HTTP_400" });
  });
});
