import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createPrismaClient } from '@boxoffice/platform';
import { createMigratedTestDatabase, type TestDatabase } from '@boxoffice/testing';
import { randomUUID } from 'node:crypto';
import { PrismaClient } from './generated/prisma/client.js';

describe("checkout's database", () => {
  let db: TestDatabase;
  let prisma: PrismaClient;

  beforeAll(async () => {
    db = await createMigratedTestDatabase('checkout', 'apps/checkout/prisma/migrations');
    prisma = createPrismaClient(PrismaClient, db.url);
  });
  afterAll(async () => {
    await prisma.$disconnect();
    await db.drop();
  });

  it('writes and reads a row through the generated Prisma client', async () => {
    const concert = await prisma.concert.create({
      data: { id: randomUUID(), name: 'Night Shift', startsAt: new Date('2027-01-01T20:00:00Z'), capacity: 100, priceCents: 4500 },
    });
    await expect(prisma.concert.findUniqueOrThrow({ where: { id: concert.id } })).resolves.toMatchObject({
      name: 'Night Shift',
      capacity: 100,
    });
  });
});
