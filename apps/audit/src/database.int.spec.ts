import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createPrismaClient } from '@boxoffice/platform';
import { createMigratedTestDatabase, type TestDatabase } from '@boxoffice/testing';
import { randomUUID } from 'node:crypto';
import { PrismaClient } from './generated/prisma/client.js';

describe("audit's database", () => {
  let db: TestDatabase;
  let prisma: PrismaClient;
  const eventId = randomUUID();

  beforeAll(async () => {
    db = await createMigratedTestDatabase('audit', 'apps/audit/prisma/migrations');
    prisma = createPrismaClient(PrismaClient, db.url);
    await prisma.auditLog.create({
      data: { eventId, type: 'UserRegistered', topic: 'boxoffice.users', actor: 'u1', occurredAt: new Date(), payloadHash: 'abc' },
    });
  });
  afterAll(async () => {
    await prisma.$disconnect();
    await db.drop();
  });

  it('writes and reads a row through the generated Prisma client', async () => {
    await expect(prisma.auditLog.findUniqueOrThrow({ where: { eventId } })).resolves.toMatchObject({ type: 'UserRegistered' });
  });

  describe('when anything tries to change history', () => {
    it('refuses an update', async () => {
      await expect(prisma.auditLog.update({ where: { eventId }, data: { actor: 'someone else' } })).rejects.toThrow(/append-only/);
    });

    it('refuses a delete', async () => {
      await expect(prisma.auditLog.delete({ where: { eventId } })).rejects.toThrow(/append-only/);
    });

    it('refuses a truncate', async () => {
      await expect(prisma.$executeRawUnsafe('TRUNCATE audit_log')).rejects.toThrow(/append-only/);
      await expect(prisma.auditLog.count()).resolves.toBe(1);
    });
  });
});
