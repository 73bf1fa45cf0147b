import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { topics } from '@boxoffice/contracts';
import { EnvelopeFactory, MessageSender, Routing } from '@boxoffice/messaging';
import { createPrismaClient } from '@boxoffice/platform';
import { createMigratedTestDatabase, type TestDatabase } from '@boxoffice/testing';
import { ConflictException } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { PrismaClient } from '../generated/prisma/client.js';
import { UsersService } from './users.service.js';

describe('signing up', () => {
  const origin = { ip: '203.0.113.7', userAgent: 'Mozilla/5.0 (jest)' };
  let db: TestDatabase;
  let prisma: PrismaClient;
  let users: UsersService;
  const messages = new MessageSender(new EnvelopeFactory('checkout'), new Routing());

  beforeAll(async () => {
    db = await createMigratedTestDatabase('checkout_users', 'apps/checkout/prisma/migrations');
    prisma = createPrismaClient(PrismaClient, db.url);
    users = new UsersService(prisma, messages);
  });
  afterAll(async () => {
    await prisma.$disconnect();
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

  describe('when the event cannot be written', () => {
    it('does not create the user either', async () => {
      const email = `${randomUUID()}@example.com`;
      jest.spyOn(messages, 'addMany').mockRejectedValueOnce(new Error('disk full'));
      await expect(users.register({ email, name: 'Ada' }, origin)).rejects.toThrow('disk full');
      await expect(prisma.user.count({ where: { email } })).resolves.toBe(0);
    });
  });
});
