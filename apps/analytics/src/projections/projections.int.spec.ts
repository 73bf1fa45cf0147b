import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { OrderConfirmed, OrderRejected, PaymentDeclined, UserRegistered } from '@boxoffice/contracts';
import { ConsumerPipeline, EnvelopeFactory, type SqlExecutor } from '@boxoffice/messaging';
import type { Envelope } from '@boxoffice/contracts';
import { createPrismaClient } from '@boxoffice/platform';
import { createMigratedTestDatabase, type TestDatabase } from '@boxoffice/testing';
import { randomUUID } from 'node:crypto';
import { analyticsHandlers } from '../analytics.handlers.js';
import { PrismaClient } from '../generated/prisma/client.js';
import { StatsService } from '../stats/stats.service.js';
import { ProjectionsHandler } from './projections.handler.js';

describe('the analytics projections', () => {
  let db: TestDatabase;
  let prisma: PrismaClient;
  let pipeline: ConsumerPipeline<SqlExecutor>;
  let stats: StatsService;
  /** Events delivered to Analytics' pipeline as one batch, as the Kafka consumer hands them over. */
  const deliver = (...events: Envelope[]) =>
    pipeline.process(
      'boxoffice.orders',
      events.map((event) => ({ body: JSON.stringify(event), headers: {} })),
      { ordered: true, exclusive: false },
    );

  beforeAll(async () => {
    db = await createMigratedTestDatabase('analytics_projections', 'apps/analytics/prisma/migrations');
    prisma = createPrismaClient(PrismaClient, db.url);
    const handler = new ProjectionsHandler();
    pipeline = new ConsumerPipeline<SqlExecutor>({
      consumer: 'analytics',
      handlers: analyticsHandlers.map(({ message }) => ({ message, handler })),
      database: prisma,
    });
    stats = new StatsService(prisma);
  });
  afterAll(async () => {
    await prisma.$disconnect();
    await db.drop();
  });

  /** Events that happened at `at`, whenever they are processed. */
  const happenedAt = (at: string) => new EnvelopeFactory('checkout', { now: () => new Date(at) });
  const signUp = (at: string) =>
    happenedAt(at).create(UserRegistered, {
      userId: randomUUID(),
      email: `${randomUUID()}@example.com`,
      name: 'Ada',
      ip: null,
      userAgent: null,
    });

  it('counts a sign-up on the day it happened, not the day it is processed', async () => {
    await deliver(signUp('2026-11-20T23:59:59.000Z'), signUp('2026-11-21T00:00:00.000Z'));
    await deliver(signUp('2026-11-21T12:00:00.000Z'));

    const { signups } = await stats.stats();
    expect(signups).toEqual({
      total: 3,
      byDay: [
        { day: '2026-11-20', signups: 1 },
        { day: '2026-11-21', signups: 2 },
      ],
    });
  });

  it('adds up tickets and revenue per day and per concert, and works out the conversion', async () => {
    const concertId = randomUUID();
    const events = happenedAt('2026-11-22T10:00:00.000Z');
    const order = { concertId, concertName: 'Night Shift', customerEmail: 'ada@example.com' };
    const declinedOrder = randomUUID();
    await deliver(
      events.create(OrderConfirmed, { ...order, orderId: randomUUID(), quantity: 2, amountCents: 9_000 }),
      events.create(OrderConfirmed, { ...order, orderId: randomUUID(), quantity: 1, amountCents: 4_500 }),
      events.create(PaymentDeclined, { orderId: declinedOrder, concertId, amountCents: 4_500, reason: 'card declined' }),
    );
    await deliver(
      events.create(OrderConfirmed, { ...order, orderId: randomUUID(), quantity: 3, amountCents: 13_500 }),
      events.create(OrderRejected, { ...order, orderId: declinedOrder, quantity: 1, reason: 'PAYMENT_DECLINED' }),
    );

    const { sales, concerts } = await stats.stats();
    expect(sales.byDay).toEqual([
      { day: '2026-11-22', tickets: 6, revenueCents: 27_000, confirmed: 3, rejected: 1, declined: 1, conversion: 0.75 },
    ]);
    expect(concerts).toEqual([
      { concertId, concertName: 'Night Shift', tickets: 6, revenueCents: 27_000, confirmed: 3, rejected: 1, conversion: 0.75 },
    ]);
  });

  describe('when an event is delivered twice', () => {
    it('counts it once', async () => {
      const concertId = randomUUID();
      const confirmed = happenedAt('2026-11-23T10:00:00.000Z').create(OrderConfirmed, {
        orderId: randomUUID(),
        concertId,
        concertName: 'Twice Told',
        quantity: 2,
        amountCents: 5_000,
        customerEmail: 'ada@example.com',
      });
      await Promise.all([deliver(confirmed, confirmed), deliver(confirmed)]);
      await deliver(confirmed);

      const { concerts } = await stats.stats();
      expect(concerts.find((c) => c.concertId === concertId)).toMatchObject({ tickets: 2, revenueCents: 5_000, confirmed: 1 });
    });
  });
});
