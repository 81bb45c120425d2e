// The naive way to mirror a conversation: one `prisma.conversation.upsert` per row, with nested
// participant writes. Shared by bench/store-upsert.ts (store level) and bench/task.ts (end to end)
// so both measure exactly the same baseline.
import { PrismaBetterSqlite3 } from "@prisma/adapter-better-sqlite3";
import { PrismaPg } from "@prisma/adapter-pg";
import { PrismaClient as SqliteClient } from "../../src/generated/prisma/client.ts";
import { PrismaClient as PgClient } from "../../src/generated/prisma-pg/client.ts";
import type { DatabaseConfig } from "../../src/store/database-url.ts";
import { contentHash } from "../../src/store/hash.ts";
import { type Conversation, lastActivityOf } from "../../src/talkjs/types.ts";

export type NaiveClient = SqliteClient;

/** A Prisma client set up like the store's (WAL + synchronous=NORMAL on SQLite). */
export async function openNaiveClient(config: DatabaseConfig): Promise<NaiveClient> {
  const prisma =
    config.provider === "sqlite"
      ? new SqliteClient({ adapter: new PrismaBetterSqlite3({ url: config.url }) })
      : // Same model API as the SQLite client (see src/store/store.ts).
        (new PgClient({
          adapter: new PrismaPg({ connectionString: config.url }),
        }) as unknown as SqliteClient);
  if (config.provider === "sqlite") {
    await prisma.$queryRawUnsafe("PRAGMA journal_mode = WAL");
    await prisma.$executeRawUnsafe("PRAGMA synchronous = NORMAL");
  }
  return prisma;
}

export async function naiveUpsert(prisma: NaiveClient, appId: string, c: Conversation): Promise<void> {
  const now = new Date();
  const last = c.lastMessage;
  const data = {
    subject: c.subject ?? null,
    photoUrl: c.photoUrl ?? null,
    topicId: c.topicId ?? null,
    welcomeMessages: (c.welcomeMessages ?? undefined) as string[] | undefined,
    custom: c.custom ?? {},
    lastMessage: (last ?? undefined) as object | undefined,
    lastMessageAt: last ? new Date(last.createdAt) : null,
    lastMessageId: last?.id ?? null,
    lastMessageSenderId: last?.senderId ?? null,
    createdAt: new Date(c.createdAt),
    lastActivityAt: new Date(lastActivityOf(c)),
    participantCount: Object.keys(c.participants ?? {}).length,
    raw: c as unknown as object,
    contentHash: contentHash(c),
    syncedAt: now,
    updatedAt: now,
  };
  const parts = Object.entries(c.participants ?? {}).map(([userId, p]) => ({
    userId,
    access: p.access,
    notify: p.notify,
  }));
  await prisma.conversation.upsert({
    where: { appId_id: { appId, id: c.id } },
    create: { appId, id: c.id, firstSeenAt: now, ...data, participants: { createMany: { data: parts } } },
    update: { ...data, participants: { deleteMany: {}, createMany: { data: parts } } },
    select: { id: true },
  });
}
