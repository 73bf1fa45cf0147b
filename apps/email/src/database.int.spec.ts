import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createPrismaClient } from '@boxoffice/platform';
import { createMigratedTestDatabase, type TestDatabase } from '@boxoffice/testing';
import { randomUUID } from 'node:crypto';
import { PrismaClient } from './generated/prisma/client.js';

describe("email's database", () => {
  let db: TestDatabase;
  let prisma: PrismaClient;

  beforeAll(async () => {
    db = await createMigratedTestDatabase('email', 'apps/email/prisma/migrations');
    prisma = createPrismaClient(PrismaClient, db.url);
  });
  afterAll(async () => {
    await prisma.$disconnect();
    await db.drop();
  });

  it('writes and reads a row through the generated Prisma client', async () => {
    const eventId = randomUUID();
    await prisma.sentEmail.create({
      data: { id: randomUUID(), eventId, kind: 'welcome', to: 'a@example.com', subject: 'Hi', body: 'Hello' },
    });
    await expect(prisma.sentEmail.findUniqueOrThrow({ where: { eventId } })).resolves.toMatchObject({ status: 'SENDING' });
  });
});
