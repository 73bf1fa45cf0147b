import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { TransactionTimedOut } from '@boxoffice/messaging';
import { createPrismaClient, createServiceDatabase, isDatabaseUnavailable } from '@boxoffice/platform';
import { createMigratedTestDatabase, TcpFaultProxy, type TestDatabase } from '@boxoffice/testing';
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

  // What RetryLaterFilter turns into 503: the database away, in the errors Prisma really throws;
  // a query the database refused stays a 500.
  describe('isDatabaseUnavailable', () => {
    const errorOf = (work: Promise<unknown>) =>
      work.then(
        () => null,
        (error: unknown) => error,
      );

    it('is true when the server refuses, resets or never answers a connection', async () => {
      const url = new URL(db.url);
      const proxy = new TcpFaultProxy({ host: url.hostname, port: Number(url.port || 5432) });
      url.port = String(await proxy.start());
      const away = createPrismaClient(PrismaClient, url.toString());
      try {
        for (const mode of ['reset', 'blackhole'] as const) {
          proxy.set(mode);
          for (const query of [
            away.concert.findFirst(),
            away.$queryRawUnsafe('SELECT 1'),
            away.$transaction((tx) => tx.concert.findFirst()),
          ]) {
            const error = await errorOf(query);
            expect(error).not.toBeNull();
            expect([mode, isDatabaseUnavailable(error)]).toEqual([mode, true]);
          }
        }
        const refused = createPrismaClient(PrismaClient, Object.assign(new URL(db.url), { port: '1' }).toString());
        expect(isDatabaseUnavailable(await errorOf(refused.concert.findFirst()))).toBe(true);
        await refused.$disconnect();
      } finally {
        await away.$disconnect();
        await proxy.stop();
      }
    }, 30_000);

    it('is true for the same through node-postgres (SQL), and for a transaction past its time limit', async () => {
      const url = new URL(db.url);
      const proxy = new TcpFaultProxy({ host: url.hostname, port: Number(url.port || 5432) });
      url.port = String(await proxy.start());
      const away = createServiceDatabase(PrismaClient, url.toString());
      const here = createServiceDatabase(PrismaClient, db.url);
      try {
        for (const mode of ['reset', 'blackhole'] as const) {
          proxy.set(mode);
          for (const query of [away.sql.$queryRawUnsafe('SELECT 1'), away.sql.$transaction((tx) => tx.$queryRawUnsafe('SELECT 1'))]) {
            const error = await errorOf(query);
            expect(error).not.toBeNull();
            expect([mode, isDatabaseUnavailable(error)]).toEqual([mode, true]);
          }
        }
        // A statement that waits for a lock another connection holds, until the transaction's limit.
        const holder = await db.pool.connect();
        try {
          await holder.query('SELECT pg_advisory_lock(19)');
          const late = await errorOf(
            here.sql.$transaction((tx) => tx.$queryRawUnsafe('SELECT pg_advisory_xact_lock(19)'), { timeout: 50 }),
          );
          expect(late).toBeInstanceOf(TransactionTimedOut);
          expect(isDatabaseUnavailable(late)).toBe(true);
        } finally {
          await holder.query('SELECT pg_advisory_unlock(19)');
          holder.release();
        }
      } finally {
        await Promise.all([away.close(), here.close()]);
        await proxy.stop();
      }
    }, 30_000);

    it('is false for a query the database refused', async () => {
      const id = randomUUID();
      const data = { id, name: 'Twice', startsAt: new Date('2027-01-01T20:00:00Z'), capacity: 1, priceCents: 1 };
      await prisma.concert.create({ data });
      const duplicate = await errorOf(prisma.concert.create({ data }));
      const badSql = await errorOf(prisma.$queryRawUnsafe('SELECT * FROM no_such_table'));
      expect([duplicate, badSql].map((error) => error !== null && !isDatabaseUnavailable(error))).toEqual([true, true]);
    });
  });
});
