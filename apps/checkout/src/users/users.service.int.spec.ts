import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { topics } from '@boxoffice/contracts';
import { EnvelopeFactory, MessageSender, Routing } from '@boxoffice/messaging';
import { createServiceDatabase, type ServiceDatabase } from '@boxoffice/platform';
import { createMigratedTestDatabase, type TestDatabase } from '@boxoffice/testing';
import { ConflictException } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { PrismaClient } from '../generated/prisma/client.js';
import { UsersService } from './users.service.js';

describe('signing up', () => {
  const origin = { ip: '203.0.113.7', userAgent: 'Mozilla/5.0 (jest)' };
  let db: TestDatabase;
  let prisma: PrismaClient;
  let database: ServiceDatabase<PrismaClient>;
  let users: UsersService;
  const messages = new MessageSender(new EnvelopeFactory('checkout'), new Routing());

  beforeAll(async () => {
    db = await createMigratedTestDatabase('checkout_users', 'apps/checkout/prisma/migrations');
    database = createServiceDatabase(PrismaClient, db.url);
    prisma = database.prisma;
    users = new UsersService(database.sql, messages);
  });
  afterAll(async () => {
    await database.close();
    await db.drop();
  });

  const eventsAbout = async (email: string) =>
    (await prisma.outboxMessage.findMany({ where: { type: 'UserRegistered' } })).filter(
      (row) => (row.envelope as { payload: { email: string } }).payload.email === email,
    );

  it('writes the user and a UserRegistered event for the users topic, keyed by the user id', async () => {
    const email = `${randomUUID()}@example.com`;
    const user = await users.register({ email, name: 'Ada' }, origin);

    const [event] = await eventsAbout(email);
    expect(event).toMatchObject({
      destination: { transport: 'kafka', channel: topics.users, key: user.id },
      envelope: { type: 'UserRegistered', source: 'checkout', payload: { userId: user.id, email, name: 'Ada', ...origin } },
    });
  });

  describe('when the email is already registered', () => {
    it('refuses the second sign-up, whatever the case of the address, and announces nothing more', async () => {
      const email = `${randomUUID()}@example.com`;
      await users.register({ email, name: 'Ada' }, origin);
      // The controller's schema lower-cases the address; the unique column does the refusing.
      await expect(users.register({ email, name: 'Someone Else' }, origin)).rejects.toThrow(ConflictException);
      expect(await eventsAbout(email)).toHaveLength(1);
    });
  });

  describe('when sign-ups arrive together', () => {
    it('writes them in fewer transactions than callers, each its own user and event, and an address asked twice to the first', async () => {
      const taken = `${randomUUID()}@example.com`;
      await users.register({ email: taken, name: 'Ada' }, origin);
      const twice = `${randomUUID()}@example.com`;
      const fresh = Array.from({ length: 30 }, () => `${randomUUID()}@example.com`);
      const outcomes = await Promise.allSettled([
        ...fresh.map((email) => users.register({ email, name: 'Fan' }, origin)),
        users.register({ email: taken, name: 'Taken' }, origin),
        users.register({ email: twice, name: 'First' }, origin),
        users.register({ email: twice, name: 'Second' }, origin),
      ]);

      // xmin: the transaction that wrote the row. Users written together share one.
      const [{ users: written, transactions }] = await prisma.$queryRawUnsafe<Array<{ users: number; transactions: number }>>(
        'SELECT count(*)::int AS users, count(DISTINCT xmin::text)::int AS transactions FROM "user" WHERE email = ANY($1::text[])',
        [...fresh, twice],
      );
      expect(written).toBe(fresh.length + 1);
      expect(transactions).toBeLessThan(written);
      const [takenOutcome, firstOutcome, secondOutcome] = outcomes.slice(fresh.length);
      expect(outcomes.slice(0, fresh.length).every((outcome) => outcome.status === 'fulfilled')).toBe(true);
      expect(takenOutcome).toMatchObject({ status: 'rejected', reason: expect.any(ConflictException) });
      expect(firstOutcome).toMatchObject({ status: 'fulfilled', value: { email: twice, name: 'First' } });
      expect(secondOutcome).toMatchObject({ status: 'rejected', reason: expect.any(ConflictException) });
      for (const email of [...fresh, twice]) {
        const [user] = await prisma.user.findMany({ where: { email } });
        const events = await eventsAbout(email);
        expect(events).toHaveLength(1);
        expect(events[0].envelope).toMatchObject({ payload: { userId: user.id, email } });
      }
      expect(await eventsAbout(taken)).toHaveLength(1);
    });
  });

  describe('when the event cannot be written', () => {
    it('does not create the user either', async () => {
      const email = `${randomUUID()}@example.com`;
      // The outbox refuses every row (as a full disk or a broken constraint would), in this spec's own database.
      await prisma.$executeRawUnsafe(`CREATE FUNCTION refuse_outbox() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN RAISE EXCEPTION 'disk full'; END $$`);
      await prisma.$executeRawUnsafe(
        'CREATE TRIGGER refuse_outbox BEFORE INSERT ON outbox_message FOR EACH ROW EXECUTE FUNCTION refuse_outbox()',
      );
      try {
        await expect(users.register({ email, name: 'Ada' }, origin)).rejects.toThrow('disk full');
      } finally {
        await prisma.$executeRawUnsafe('DROP TRIGGER refuse_outbox ON outbox_message');
        await prisma.$executeRawUnsafe('DROP FUNCTION refuse_outbox()');
      }
      await expect(prisma.user.count({ where: { email } })).resolves.toBe(0);
    });
  });
});
