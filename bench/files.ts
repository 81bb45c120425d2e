// Files job throughput over loopback with TalkJS-CDN-like latency, and its memory while downloading
// one big file (it streams to disk, so peak RSS must not grow with the file's size).
// usage: tsx bench/files.ts [--smoke]   (SQLite; the simulator runs in-process)
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { createLogger } from "../src/log.ts";
import { startSimulator } from "../src/simulator/index.ts";
import { parseDatabaseUrl } from "../src/store/database-url.ts";
import { migrateDatabase } from "../src/store/migrate.ts";
import { openStore } from "../src/store/store.ts";
import { runFilesJob } from "../src/sync/files.ts";
import type { Message } from "../src/talkjs/types.ts";

const smoke = process.argv.includes("--smoke");
const LATENCY_MS = 50;
const FILES = smoke ? 8 : 64;
const FILE_BYTES = 512 * 1024;
const BIG = smoke ? [5] : [5, 50]; // MB
const logger = createLogger({ level: "silent" });

async function scratch<T>(fn: (url: string, dir: string) => Promise<T>): Promise<T> {
  const dir = mkdtempSync(path.join(os.tmpdir(), "talkjs-bench-files-"));
  try {
    const url = `file:${dir}/mirror.db`;
    await migrateDatabase(parseDatabaseUrl(url));
    return await fn(url, path.join(dir, "files"));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function message(id: string, url: string, size: number): Message {
  return {
    id,
    conversationId: "bench",
    type: "UserMessage",
    senderId: "u",
    readBy: [],
    text: "",
    attachment: { url, size },
    location: null,
    origin: "web",
    createdAt: 1_700_000_000_000,
    editedAt: null,
    referencedMessageId: null,
    custom: {},
  };
}

const sim = await startSimulator({ latencyMs: LATENCY_MS });
const settings = (dir: string, concurrency: number) => ({
  enabled: true,
  dir,
  concurrency,
  maxBytes: 1024 * 1024 * 1024,
  allowPrivateHosts: true,
  goneAfterDays: 7,
});
try {
  console.log(
    `files job: ${FILES} files of ${FILE_BYTES / 1024} KB, ${LATENCY_MS} ms latency per request, SQLite`,
  );
  console.log("concurrency  files/s   MB/s   wall");
  for (const concurrency of [1, 4, 8]) {
    // New files each round (own bytes), so nothing is already archived.
    const files = Array.from({ length: FILES }, () => sim.addFile({ size: FILE_BYTES }));
    await scratch(async (url, dir) => {
      const store = await openStore({ url });
      try {
        await store.files.register(
          "bench",
          files.map((f, i) => message(`m${i}`, f.url, f.size)),
          new Date(),
        );
        const t0 = performance.now();
        const s = await runFilesJob({ store, appId: "bench", logger }, settings(dir, concurrency));
        const ms = performance.now() - t0;
        if (s.stored !== FILES) throw new Error(`stored ${s.stored} of ${FILES}`);
        const mb = (FILES * FILE_BYTES) / 1024 / 1024;
        console.log(
          `${String(concurrency).padStart(11)}  ${(FILES / (ms / 1000)).toFixed(1).padStart(7)}  ${(mb / (ms / 1000)).toFixed(1).padStart(5)}  ${(ms / 1000).toFixed(2)} s`,
        );
      } finally {
        await store.close();
      }
    });
  }

  console.log("\none big file (streamed to disk; simulator in the same process):");
  console.log("size     peak RSS − RSS before   wall");
  sim.setOptions({ latencyMs: 0 });
  for (const mbSize of BIG) {
    const f = sim.addFile({ size: mbSize * 1024 * 1024 });
    await scratch(async (url, dir) => {
      const store = await openStore({ url });
      try {
        await store.files.register("bench", [message("big", f.url, f.size)], new Date());
        global.gc?.();
        const before = process.memoryUsage().rss;
        let peak = before;
        const timer = setInterval(() => {
          peak = Math.max(peak, process.memoryUsage().rss);
        }, 5);
        const t0 = performance.now();
        const s = await runFilesJob({ store, appId: "bench", logger }, settings(dir, 1));
        clearInterval(timer);
        peak = Math.max(peak, process.memoryUsage().rss);
        if (s.stored !== 1) throw new Error("the big file was not stored");
        console.log(
          `${`${mbSize} MB`.padEnd(8)} ${((peak - before) / 1024 / 1024).toFixed(1).padStart(6)} MB              ${((performance.now() - t0) / 1000).toFixed(2)} s`,
        );
      } finally {
        await store.close();
      }
    });
  }
} finally {
  await sim.close();
}
