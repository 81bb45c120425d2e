// A files job in its own process, for the kill -9 test (test/sync/files.int.test.ts): the parent
// kills it mid-download and checks what it left behind.
import { createLogger } from "../../src/log.ts";
import { openStore } from "../../src/store/store.ts";
import { runFilesJob } from "../../src/sync/files.ts";

const store = await openStore({ url: process.env.DATABASE_URL as string });
const logger = createLogger({ level: "silent" });
await runFilesJob(
  { store, appId: process.env.APP_ID as string, logger },
  {
    enabled: true,
    dir: process.env.FILES_DIR as string,
    concurrency: 2,
    maxBytes: 100 * 1024 * 1024,
    allowPrivateHosts: true,
    goneAfterDays: 7,
  },
);
await store.close();
