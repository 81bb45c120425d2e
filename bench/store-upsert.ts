// Batch page upsert (Store.upsertConversations) vs naive per-row `prisma.conversation.upsert`.
// usage: tsx bench/store-upsert.ts [N=5000] [sqlite|postgresql|both]
// PostgreSQL: BENCH_DATABASE_URL admin URL (default postgresql://postgres@127.0.0.1:5432/postgres);
// a scratch database is created and dropped.
import { type DatabaseProvider, parseDatabaseUrl } from "../src/store/database-url.ts";
import { migrateDatabase } from "../src/store/migrate.ts";
import { openStore } from "../src/store/store.ts";
import type { Conversation } from "../src/talkjs/types.ts";
import { freshDb } from "./lib/db.ts";
import { naiveUpsert, openNaiveClient } from "./lib/naive.ts";

const N = Number(process.argv[2] ?? 5000);
const which = process.argv[3] ?? "both";
const PAGE = 100;

function synthetic(i: number, version: number): Conversation {
  const id = `conv_${String(i).padStart(6, "0")}`;
  const createdAt = 1_700_000_000_000 + i * 1000;
  return {
    id,
    subject: `Subject ${i} v${version}`,
    photoUrl: null,
    welcomeMessages: null,
    custom: { category: ["support", "sales", "ops"][i % 3] ?? "x", version: String(version) },
    lastMessage: {
      id: `msg_${i}_${version}`,
      conversationId: id,
      type: "UserMessage",
      senderId: `user_${i % 50}`,
      readBy: [],
      text: "x".repeat(200),
      attachment: null,
      location: null,
      origin: "web",
      createdAt: createdAt + 5000 + version,
      editedAt: null,
      referencedMessageId: null,
      custom: {},
    },
    participants: Object.fromEntries(
      [0, 1, 2].map((k) => [`user_${(i + k) % 50}`, { access: "ReadWrite" as const, notify: k !== 2 }]),
    ),
    createdAt,
    topicId: null,
  };
}

async function timed(label: string, fn: () => Promise<void>): Promise<number> {
  const t0 = performance.now();
  await fn();
  const rate = N / ((performance.now() - t0) / 1000);
  console.log(`  ${label.padEnd(34)} ${Math.round(rate).toLocaleString("en-US").padStart(8)} conv/s`);
  return rate;
}

async function benchBatch(provider: DatabaseProvider): Promise<number[]> {
  const db = await freshDb(provider);
  try {
    await migrateDatabase(parseDatabaseUrl(db.url));
    const store = await openStore({ url: db.url });
    const pass = async (version: number) => {
      for (let p = 0; p < N; p += PAGE) {
        const page = Array.from({ length: Math.min(PAGE, N - p) }, (_, k) => synthetic(p + k, version));
        await store.upsertConversations("bench", page, { seenAt: new Date() });
      }
    };
    const rates = [
      await timed("batch: insert new", () => pass(0)),
      await timed("batch: re-upsert unchanged", () => pass(0)),
      await timed("batch: update changed", () => pass(1)),
    ];
    await store.close();
    return rates;
  } finally {
    await db.drop();
  }
}

async function benchNaive(provider: DatabaseProvider): Promise<number[]> {
  const db = await freshDb(provider);
  try {
    const config = parseDatabaseUrl(db.url);
    await migrateDatabase(config);
    const prisma = await openNaiveClient(config);
    const pass = async (version: number) => {
      for (let i = 0; i < N; i++) await naiveUpsert(prisma, "bench", synthetic(i, version));
    };
    const rates = [
      await timed("naive: insert new", () => pass(0)),
      await timed("naive: re-upsert unchanged", () => pass(0)),
      await timed("naive: update changed", () => pass(1)),
    ];
    await prisma.$disconnect();
    return rates;
  } finally {
    await db.drop();
  }
}

const providers: DatabaseProvider[] =
  which === "both" ? ["sqlite", "postgresql"] : [which as DatabaseProvider];
for (const provider of providers) {
  console.log(`${provider}, N=${N}, pages of ${PAGE}, 3 participants each`);
  const batch = await benchBatch(provider);
  const naive = await benchNaive(provider);
  const ratios = batch.map((b, k) => (b / (naive[k] ?? 1)).toFixed(1));
  console.log(`  ratio batch/naive (new / unchanged / changed): ${ratios.join(" / ")}`);
}
