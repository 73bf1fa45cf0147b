import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createPrismaClient } from '@boxoffice/platform';
import { createMigratedTestDatabase, type TestDatabase } from '@boxoffice/testing';
import { PrismaClient } from './generated/prisma/client.js';

describe("analytics' database", () => {
  let db: TestDatabase;
  let prisma: PrismaClient;

  beforeAll(async () => {
    db = await createMigratedTestDatabase('analytics', 'apps/analytics/prisma/migrations');
    prisma = createPrismaClient(PrismaClient, db.url);
  });
  afterAll(async () => {
    await prisma.$disconnect();
    await db.drop();
  });

  it('writes and reads a row through the generated Prisma client', async () => {
    const day = new Date('2026-11-27T00:00:00Z');
    await prisma.dailySignups.create({ data: { day, signups: 3 } });
    await expect(prisma.dailySignups.findUniqueOrThrow({ where: { day } })).resolves.toMatchObject({ signups: 3 });
  });
});
