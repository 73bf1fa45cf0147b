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

    it('refuses an erasure that changes anything else', async () => {
      await expect(prisma.auditLog.update({ where: { eventId }, data: { actor: null, ip: null, type: 'Forged' } })).rejects.toThrow(
        /append-only/,
      );
    });

    it('refuses a truncate', async () => {
      await expect(prisma.$executeRawUnsafe('TRUNCATE audit_log')).rejects.toThrow(/append-only/);
      await expect(prisma.auditLog.count()).resolves.toBe(1);
    });
  });

  describe('when a person asks to be forgotten', () => {
    it('lets exactly that through: actor and ip set to NULL, nothing else changed', async () => {
      const erased = randomUUID();
      await prisma.auditLog.create({
        data: {
          eventId: erased,
          type: 'UserRegistered',
          topic: 'boxoffice.users',
          actor: 'u2',
          ip: '203.0.113.9',
          occurredAt: new Date(),
          payloadHash: 'def',
        },
      });
      await prisma.auditLog.update({ where: { eventId: erased }, data: { actor: null, ip: null } });
      await expect(prisma.auditLog.findUniqueOrThrow({ where: { eventId: erased } })).resolves.toMatchObject({
        actor: null,
        ip: null,
        type: 'UserRegistered',
        payloadHash: 'def',
      });
      // Once erased, the entry takes no other change either.
      await expect(prisma.auditLog.update({ where: { eventId: erased }, data: { payloadHash: 'forged' } })).rejects.toThrow(/append-only/);
    });
  });
});
