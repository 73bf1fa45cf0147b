import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { EnvelopeFactory, MessageSender, Routing } from '@boxoffice/messaging';
import { createPrismaClient } from '@boxoffice/platform';
import { createMigratedTestDatabase, type TestDatabase } from '@boxoffice/testing';
import { randomUUID } from 'node:crypto';
import { PrismaClient } from '../generated/prisma/client.js';
import { ConcertsService } from './concerts.service.js';

// The concerts a purchase reads, against Checkout's real database: the lookups that reach it are
// counted as they leave for it.

describe('the concerts a purchase reads', () => {
  let db: TestDatabase;
  let prisma: PrismaClient;
  let lookups = 0;
  let concerts: ConcertsService;

  beforeAll(async () => {
    db = await createMigratedTestDatabase('concerts_lookup', 'apps/checkout/prisma/migrations');
    prisma = createPrismaClient(PrismaClient, db.url, 4);
    const counted = new Proxy(prisma.concert, {
      get: (target, key, receiver) => {
        const member = Reflect.get(target, key, receiver);
        if (key !== 'findUnique') return member;
        return (...args: Parameters<typeof target.findUnique>) => {
          lookups += 1;
          return target.findUnique(...args);
        };
      },
    });
    const client = new Proxy(prisma, {
      get: (target, key, receiver) => (key === 'concert' ? counted : Reflect.get(target, key, receiver)),
    });
    concerts = new ConcertsService(client, new MessageSender(new EnvelopeFactory('checkout'), new Routing()));
  });

  afterAll(async () => {
    await prisma?.$disconnect();
    await db?.drop();
  });

  async function scheduled(): Promise<string> {
    const id = randomUUID();
    await db.pool.query(
      `INSERT INTO concert (id, name, starts_at, capacity, price_cents) VALUES ($1, 'Night Shift', '2027-03-02T20:00:00Z', 100, 4500)`,
      [id],
    );
    return id;
  }

  it('reads a concert once for a crowd of buyers who ask at the same moment, and then from memory', async () => {
    const id = await scheduled();
    lookups = 0;

    const found = await Promise.all(Array.from({ length: 200 }, () => concerts.find(id)));
    const later = await concerts.find(id);

    expect(lookups).toBe(1);
    expect(new Set(found.map((concert) => concert?.id))).toEqual(new Set([id]));
    expect(later?.id).toBe(id);
    expect(lookups).toBe(1);
  });

  it('looks again for a concert it did not find: one scheduled since is found', async () => {
    const id = randomUUID();
    lookups = 0;

    await expect(Promise.all([concerts.find(id), concerts.find(id)])).resolves.toEqual([null, null]);
    await db.pool.query(
      `INSERT INTO concert (id, name, starts_at, capacity, price_cents) VALUES ($1, 'Night Shift', '2027-03-02T20:00:00Z', 100, 4500)`,
      [id],
    );
    const found = await concerts.find(id);

    expect(found?.id).toBe(id);
    expect(lookups).toBe(2);
  });
});
