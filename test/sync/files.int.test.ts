// The files job against the simulator over real HTTP, on SQLite and PostgreSQL: every file stored
// once and byte-identical, dedupe, every fault's documented status (and never a wrong file stored),
// expired URLs healed by a re-read, a full disk, and kill -9 mid-download.
import { type ChildProcess, spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { exportFiles } from "../../src/analytics/export-files.ts";
import { renderTable } from "../../src/analytics/render.ts";
import { buildReport } from "../../src/analytics/report.ts";
import { formatStatus } from "../../src/cli/format.ts";
import { messageFilesOf } from "../../src/store/sql/files.ts";
import type { Store } from "../../src/store/store.ts";
import { BlobDir } from "../../src/sync/file-blobs.ts";
import { type FilesSettings, runFilesJob } from "../../src/sync/files.ts";
import { runMirrorJob, type SyncSettings } from "../../src/sync/jobs.ts";
import { readStatus } from "../../src/sync/status.ts";
import { PROVIDERS, useStore } from "../helpers/db.ts";
import { useHarnesses } from "./harness.ts";

const root = mkdtempSync(path.join(os.tmpdir(), "talkjs-files-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let dirs = 0;

function settings(files: Partial<FilesSettings> = {}): SyncSettings {
  return {
    clockSkewMs: 5_000,
    maxDeleteShare: 1,
    mirrorMessages: true,
    messageConcurrency: 4,
    backfillConcurrency: 1,
    files: {
      enabled: true,
      dir: path.join(root, `files-${process.pid}-${++dirs}`),
      concurrency: 4,
      maxBytes: 100 * 1024 * 1024,
      allowPrivateHosts: true,
      goneAfterDays: 7,
      ...files,
    },
  };
}

const sha256 = (b: Buffer) => createHash("sha256").update(b).digest("hex");
const fileRequests = (sim: { requestLog: { path: string }[] }) =>
  sim.requestLog.filter((r) => r.path.startsWith("/files/")).length;

async function rows(store: Store, appId: string) {
  const all = await store.queryRaw(messageFilesOf(appId));
  return all.map((r) => ({
    messageId: String(r.message_id),
    url: String(r.url),
    status: String(r.status),
    sha256: r.sha256 === null ? null : String(r.sha256),
    lastError: r.last_error === null ? null : String(r.last_error),
  }));
}

/** Every file under FILES_DIR/sha256/, by name; the tmp folder's names. */
function onDisk(dir: string): { blobs: string[]; temps: string[] } {
  const blobs: string[] = [];
  const walk = (d: string) => {
    if (!existsSync(d)) return;
    for (const e of readdirSync(d, { withFileTypes: true })) {
      if (e.isDirectory()) walk(path.join(d, e.name));
      else blobs.push(e.name);
    }
  };
  walk(path.join(dir, "sha256"));
  const tmp = path.join(dir, "tmp");
  return { blobs: blobs.sort(), temps: existsSync(tmp) ? readdirSync(tmp) : [] };
}

describe.each(PROVIDERS)("files job on %s", (provider) => {
  const fixture = useStore(provider);
  const setup = useHarnesses(fixture);
  const it_ = it.skipIf(fixture.skip);

  it_("a backfill stores every file exactly once, byte for byte; a rerun downloads nothing", async () => {
    const h = await setup("exclusive", { conversations: 120, burst: 0 });
    const s = settings();
    const dir = s.files?.dir as string;
    const summary = await runMirrorJob(h.ctx, "backfill", { settings: s });
    const expected = new Map<string, Buffer>();
    for (const c of h.sim.allConversations())
      for (const m of h.sim.messages(c.id))
        if (m.attachment) expected.set(m.id, h.sim.fileBytes(m.attachment.url) as Buffer);
    expect(expected.size).toBeGreaterThan(20);
    const got = await rows(fixture.store, h.appId);
    expect(got.length).toBe(expected.size);
    for (const r of got) {
      const bytes = expected.get(r.messageId) as Buffer;
      expect([r.status, r.sha256]).toEqual(["stored", sha256(bytes)]);
      const file = new BlobDir(dir).pathOf(r.sha256 as string);
      expect(statSync(file).size).toBe(bytes.length);
      expect(sha256(readFileSync(file))).toBe(r.sha256);
    }
    expect(summary.files?.stored).toBe(expected.size);
    expect(fileRequests(h.sim)).toBe(expected.size); // exactly once each
    expect(onDisk(dir).temps).toEqual([]);
    const status = await fixture.store.files.stats(h.appId);
    expect(status.byStatus.stored).toBe(expected.size);
    expect(status.storedBytes).toBe([...expected.values()].reduce((n, b) => n + b.length, 0));

    // status and report show the counts and bytes.
    const n = expected.size.toLocaleString("en-US");
    expect(formatStatus(await readStatus(fixture.store, h.appId))).toMatch(
      new RegExp(`^Files: ${n} stored \\(${n} distinct, [\\d.]+ [KMG]?B\\), 0 pending, 0 failed`, "m"),
    );
    const report = await buildReport(fixture.store, h.appId, {});
    expect(report.files.byStatus.stored).toBe(expected.size);
    expect(renderTable(report)).toMatch(
      new RegExp(`^ {2}files: +${n} stored \\([\\d.]+ [KMG]?B\\), 0 pending, 0 failed`, "m"),
    );

    h.sim.clearRequestLog();
    const again = await runMirrorJob(h.ctx, "sync", { settings: s });
    expect(again.files?.stored).toBe(0);
    expect(fileRequests(h.sim)).toBe(0);
  });

  it_("the same file in 50 messages is downloaded and stored once", async () => {
    const h = await setup("exclusive", { conversations: 0, burst: 0 });
    const s = settings();
    const f = h.sim.addFile({ size: 30_000, filename: "logo.png", bytesSeed: 1 });
    const twin = h.sim.addFile({ size: 30_000, filename: "logo-copy.png", bytesSeed: 1 }); // same bytes, other URL
    h.sim.createConversation({ id: "c1", participants: ["u1"] });
    for (let i = 0; i < 50; i++)
      h.sim.addMessage("c1", {
        senderId: "u1",
        createdAt: Date.now() - 100_000 + i,
        content: [{ type: "file", url: f.url, filename: f.filename, size: f.size }],
      });
    h.sim.addMessage("c1", { senderId: "u1", attachment: { url: twin.url, size: twin.size } });
    const summary = await runMirrorJob(h.ctx, "backfill", { settings: s });
    const got = await rows(fixture.store, h.appId);
    expect(got.length).toBe(51);
    expect(new Set(got.map((r) => r.sha256))).toEqual(new Set([sha256(h.sim.fileBytes(f.url) as Buffer)]));
    expect(got.every((r) => r.status === "stored")).toBe(true);
    expect(onDisk(s.files?.dir as string).blobs.length).toBe(1);
    expect(fileRequests(h.sim)).toBe(2); // one per distinct URL
    expect([summary.files?.stored, summary.files?.downloaded]).toEqual([51, 2]);
  });

  it_(
    "each fault ends in its documented status, never as a stored wrong file, and heals when fixed",
    async () => {
      const h = await setup("exclusive", { conversations: 0, burst: 0 });
      let now = Date.now();
      h.ctx.now = () => now;
      const s = settings({ maxBytes: 200_000, goneAfterDays: 7 });
      const dir = s.files?.dir as string;
      h.sim.createConversation({ id: "c1", participants: ["u1"] });
      const cases: Record<string, { fault?: object; size?: number; url?: string; expect: [string, RegExp] }> =
        {
          html: { fault: { kind: "html-page" }, expect: ["failed", /HTML page/] },
          wrong: {
            fault: { kind: "wrong-length" },
            expect: ["failed", /size mismatch: 10017 bytes, 10000 declared/],
          },
          reset: {
            fault: { kind: "reset-mid-body" },
            expect: ["failed", /download interrupted|request failed/],
          },
          forbidden: { fault: { kind: "status", status: 403 }, expect: ["failed", /HTTP 403/] },
          missing: { fault: { kind: "status", status: 404 }, expect: ["failed", /HTTP 404/] },
          slow: { fault: { kind: "slow", delayMs: 50 }, expect: ["stored", /^$/] },
          big: { size: 300_000, expect: ["skipped_too_large", /FILES_MAX_BYTES/] },
          scheme: { url: "ftp://example.com/a.bin", expect: ["failed", /only http\(s\)/] },
        };
      const ids = new Map<string, string>();
      for (const [name, c] of Object.entries(cases)) {
        const f = h.sim.addFile({ size: c.size ?? 10_000, filename: `${name}.bin` });
        const url = c.url ?? f.url;
        const m = h.sim.addMessage("c1", { senderId: "u1", text: name, attachment: { url, size: f.size } });
        ids.set(m.id, name);
        if (c.fault)
          h.sim.addFault({
            fault: c.fault as never,
            match: { pathRegex: new RegExp(`^/files/${f.id}/`) },
            nth: 1,
          });
      }
      await runMirrorJob(h.ctx, "backfill", { settings: s });
      const first = await rows(fixture.store, h.appId);
      for (const r of first) {
        const c = cases[ids.get(r.messageId) as string] as (typeof cases)[string];
        expect([ids.get(r.messageId), r.status]).toEqual([ids.get(r.messageId), c.expect[0]]);
        expect(r.lastError ?? "").toMatch(c.expect[1]);
      }
      // Only the one good file is on disk; nothing half-written anywhere.
      expect(onDisk(dir)).toEqual({
        blobs: first.filter((r) => r.status === "stored").map((r) => r.sha256),
        temps: [],
      });

      // Not due yet: a pass right away retries nothing.
      h.sim.clearRequestLog();
      await runFilesJob(h.ctx, s.files as FilesSettings);
      expect(fileRequests(h.sim)).toBe(0);
      // After the backoff (faults fired once), every transient failure heals.
      now += 3_600_000;
      await runFilesJob(h.ctx, s.files as FilesSettings);
      const second = await rows(fixture.store, h.appId);
      expect(
        second
          .filter((r) => r.status !== "stored")
          .map((r) => ids.get(r.messageId))
          .sort(),
      ).toEqual(["big", "scheme"]);
    },
  );

  it_(
    "404 for FILES_GONE_AFTER_DAYS makes a file gone; private hosts are refused unless allowed",
    async () => {
      const h = await setup("exclusive", { conversations: 0, burst: 0 });
      let now = Date.now();
      h.ctx.now = () => now;
      const s = settings({ goneAfterDays: 2, allowPrivateHosts: false });
      h.sim.createConversation({ id: "c1", participants: ["u1"] });
      const f = h.sim.addFile({ size: 1000 });
      h.sim.addMessage("c1", {
        senderId: "u1",
        attachment: { url: `${h.sim.url}/files/nope/x.bin`, size: 1 },
      });
      h.sim.addMessage("c1", { senderId: "u1", attachment: { url: f.url, size: f.size } });
      await runMirrorJob(h.ctx, "backfill", { settings: s });
      let got = await rows(fixture.store, h.appId);
      // Loopback refused before any request: the simulator never saw a file request.
      expect(got.map((r) => r.lastError)).toEqual([
        expect.stringMatching(/FILES_ALLOW_PRIVATE_HOSTS/),
        expect.any(String),
      ]);
      expect(fileRequests(h.sim)).toBe(0);
      const allowed = { ...(s.files as FilesSettings), allowPrivateHosts: true };
      for (let day = 0; day < 4; day++) {
        now += 86_400_000 + 1;
        await runFilesJob(h.ctx, allowed);
      }
      got = await rows(fixture.store, h.appId);
      expect(got.map((r) => r.status)).toEqual(["gone", "stored"]);
      expect((await fixture.store.files.stats(h.appId)).byStatus).toMatchObject({ gone: 1, stored: 1 });
    },
  );

  it_(
    "an expired URL fails with 403, a re-read of the message hands out a new one and it heals",
    async () => {
      let simNow = Date.now();
      const h = await setup("exclusive", {
        conversations: 0,
        burst: 0,
        sim: { now: () => simNow, fileUrlTtlMs: 60_000 },
      });
      const s = settings();
      h.sim.createConversation({ id: "c1", participants: ["u1"], createdAt: simNow - 1000 });
      const f = h.sim.addFile({ size: 5000 });
      h.sim.addMessage("c1", { senderId: "u1", attachment: { url: f.url, size: f.size } });
      // Mirror the messages without files, then let the URLs expire.
      await runMirrorJob(h.ctx, "backfill", {
        settings: { ...s, files: { ...(s.files as FilesSettings), enabled: false } },
      });
      simNow += 120_000;
      await runFilesJob(h.ctx, s.files as FilesSettings);
      let [row] = await rows(fixture.store, h.appId);
      expect([row?.status, row?.lastError]).toEqual(["failed", "HTTP 403"]);
      await runMirrorJob(h.ctx, "reconcile", { settings: s, deepMessages: true });
      [row] = await rows(fixture.store, h.appId);
      expect(row?.status).toBe("stored");
      expect(row?.sha256).toBe(sha256(h.sim.fileBytes(f.url) as Buffer));
    },
  );

  it_(
    "a full disk stops the files job with FILES_DISK_FULL, rows stay pending, the sync succeeds",
    async () => {
      const h = await setup("exclusive", { conversations: 0, burst: 0 });
      const s = settings();
      h.sim.createConversation({ id: "c1", participants: ["u1"] });
      for (let i = 0; i < 3; i++) {
        const f = h.sim.addFile({ size: 100_000 });
        h.sim.addMessage("c1", { senderId: "u1", attachment: { url: f.url, size: f.size } });
      }
      const full = Object.assign(new Error("ENOSPC: no space left on device, write"), { code: "ENOSPC" });
      const summary = await runMirrorJob(h.ctx, "backfill", {
        settings: s,
        filesJob: {
          blobDir: {
            openTemp: async () => ({
              write: () => Promise.reject(full),
              sync: async () => {},
              close: async () => {},
            }),
          },
        },
      });
      expect(summary.messages?.inserted).toBe(3); // the mirror itself is complete
      expect(summary.filesError?.code).toBe("FILES_DISK_FULL");
      expect((await rows(fixture.store, h.appId)).map((r) => r.status)).toEqual([
        "pending",
        "pending",
        "pending",
      ]);
      expect(onDisk(s.files?.dir as string)).toEqual({ blobs: [], temps: [] });
      const runs = await fixture.store.lastRuns(h.appId, 10);
      expect(runs.find((r) => r.kind === "backfill")).toMatchObject({ status: "succeeded" });
      expect((await fixture.store.getSyncState(h.appId, "files"))?.lastError).toMatch(/FILES_DISK_FULL/);
      // Space again: the next run archives everything.
      const healed = await runFilesJob(h.ctx, s.files as FilesSettings);
      expect(healed.stored).toBe(3);
    },
  );

  it_("export --with-files: per-conversation folders, original (made safe) names, hard links", async () => {
    const h = await setup("exclusive", { conversations: 0, burst: 0 });
    const s = settings();
    h.sim.createConversation({ id: "support/ticket ü", participants: ["u1"] });
    const names = ["report.pdf", "report.pdf", "../../etc/passwd", ".env"];
    const added = names.map((n, i) => h.sim.addFile({ size: 1000 + i, filename: n }));
    for (const [i, f] of added.entries())
      h.sim.addMessage("support/ticket ü", {
        senderId: "u1",
        createdAt: Date.now() - 10_000 + i,
        content: [{ type: "file", url: f.url, filename: f.filename, size: f.size }],
      });
    await runMirrorJob(h.ctx, "backfill", { settings: s });
    const out = path.join(root, `export-${provider}`);
    const summary = await exportFiles(fixture.store, h.appId, s.files?.dir as string, out);
    expect(summary).toMatchObject({ files: 4, conversations: 1, linked: 4, missing: 0 });
    const folder = path.join(out, encodeURIComponent("support/ticket ü"));
    const listed = readdirSync(folder).sort();
    expect(listed).toHaveLength(4);
    expect(listed).toContain("report.pdf");
    expect(listed).toContain("_env");
    expect(listed).toContain("__.._etc_passwd"); // "../../etc/passwd": one segment, not hidden
    expect(listed.filter((n) => n.startsWith("report (")).length).toBe(1);
    for (const f of added) {
      const bytes = h.sim.fileBytes(f.url) as Buffer;
      const match = listed.filter((n) => statSync(path.join(folder, n)).size === bytes.length);
      expect(match).toHaveLength(1);
      const file = path.join(folder, match[0] as string);
      expect(readFileSync(file).equals(bytes)).toBe(true);
      expect(statSync(file).nlink).toBeGreaterThan(1); // a hard link, not a second copy
    }
  });

  it_("kill -9 mid-download leaves no partial file under a final name; a rerun completes", async () => {
    const h = await setup("exclusive", { conversations: 0, burst: 0 });
    const s = settings();
    const dir = s.files?.dir as string;
    h.sim.createConversation({ id: "c1", participants: ["u1"] });
    const big = h.sim.addFile({ size: 3_000_000 });
    const small = h.sim.addFile({ size: 20_000 });
    h.sim.addMessage("c1", { senderId: "u1", attachment: { url: big.url, size: big.size } });
    h.sim.addMessage("c1", { senderId: "u1", attachment: { url: small.url, size: small.size } });
    h.sim.addFault({
      fault: { kind: "stall-mid-body", ms: 60_000 },
      match: { pathPrefix: `/files/${big.id}/` },
      nth: 1,
    });
    await runMirrorJob(h.ctx, "backfill", {
      settings: { ...s, files: { ...(s.files as FilesSettings), enabled: false } },
    });

    const child = spawnFilesChild(fixture.db.url, h.appId, dir);
    try {
      // Wait for the half-written temporary file, then kill the process outright.
      await waitFor(() => onDisk(dir).temps.some((t) => statSync(path.join(dir, "tmp", t)).size > 0), child);
      child.kill("SIGKILL");
      await new Promise((resolve) => child.once("exit", resolve));
    } finally {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    }
    const during = onDisk(dir);
    expect(during.temps.length).toBeGreaterThan(0);
    for (const name of during.blobs) {
      const file = new BlobDir(dir).pathOf(name);
      expect(sha256(readFileSync(file))).toBe(name); // whatever has a final name is complete
    }
    const rerun = await runFilesJob(h.ctx, s.files as FilesSettings);
    const got = await rows(fixture.store, h.appId);
    expect(got.map((r) => r.status)).toEqual(["stored", "stored"]);
    expect(new Set(got.map((r) => r.sha256))).toEqual(
      new Set([sha256(h.sim.fileBytes(big.url) as Buffer), sha256(h.sim.fileBytes(small.url) as Buffer)]),
    );
    expect(rerun.stored).toBeGreaterThanOrEqual(1);
    expect(onDisk(dir).temps).toEqual([]);
  });
});

const projectRoot = fileURLToPath(new URL("../../", import.meta.url));

function spawnFilesChild(databaseUrl: string, appId: string, dir: string): ChildProcess {
  return spawn(process.execPath, ["--import", "tsx", "test/sync/files-child.ts"], {
    cwd: projectRoot,
    env: { PATH: process.env.PATH ?? "", DATABASE_URL: databaseUrl, APP_ID: appId, FILES_DIR: dir },
    stdio: ["ignore", "ignore", "inherit"],
  });
}

async function waitFor(condition: () => boolean, child: ChildProcess): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (!condition()) {
    if (child.exitCode !== null) throw new Error(`child exited early with ${child.exitCode}`);
    if (Date.now() > deadline) throw new Error("timed out waiting for the download to start");
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
