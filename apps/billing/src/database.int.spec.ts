import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createPrismaClient } from '@boxoffice/platform';
import { createMigratedTestDatabase, type TestDatabase } from '@boxoffice/testing';
import { randomUUID } from 'node:crypto';
import { PrismaClient } from './generated/prisma/client.js';

describe("billing's database", () => {
  let db: TestDatabase;
  let prisma: PrismaClient;

  beforeAll(async () => {
    db = await createMigratedTestDatabase('billing', 'apps/billing/prisma/migrations');
    prisma = createPrismaClient(PrismaClient, db.url);
  });
  afterAll(async () => {
    await prisma.$disconnect();
    await db.drop();
  });

  it('writes and reads a row through the generated Prisma client', async () => {
    const concertId = randomUUID();
    await prisma.seatInventory.create({ data: { concertId, name: 'Night Shift', capacity: 10, priceCents: 4500 } });
    await expect(prisma.seatInventory.findUniqueOrThrow({ where: { concertId } })).resolves.toMatchObject({ seatsSold: 0 });
  });

  it('refuses to sell more seats than the concert has, whatever the code does', async () => {
    const concertId = randomUUID();
    await prisma.seatInventory.create({ data: { concertId, name: 'Small Room', capacity: 2, priceCents: 100 } });
    await expect(prisma.seatInventory.update({ where: { concertId }, data: { seatsSold: 3 } })).rejects.toThrow(/seats_within_capacity/);
  });
});
