import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { ConcertScheduled, OrderConfirmed, UserRegistered } from '@boxoffice/contracts';
import { ConsumerPipeline, EnvelopeFactory, type SqlExecutor } from '@boxoffice/messaging';
import type { Envelope } from '@boxoffice/contracts';
import { createPrismaClient } from '@boxoffice/platform';
import { createMigratedTestDatabase, type TestDatabase } from '@boxoffice/testing';
import { createHash, randomUUID } from 'node:crypto';
import { PrismaClient } from '../generated/prisma/client.js';
import { AuditLog } from './audit-log.js';
import { auditHandlers } from '../audit.handlers.js';
import { EventRecordedHandler } from './event-recorded.handler.js';

describe('the audit log', () => {
  const events = new EnvelopeFactory('checkout');
  let db: TestDatabase;
  let prisma: PrismaClient;
  let log: AuditLog;
  let pipeline: ConsumerPipeline<SqlExecutor>;
  /** Events delivered to Audit's pipeline as one batch from `topic`. */
  const deliver = (topic: string, ...batch: Envelope[]) =>
    pipeline.process(
      topic,
      batch.map((event) => ({ body: JSON.stringify(event), headers: {} })),
      { ordered: true, exclusive: false },
    );

  beforeAll(async () => {
    db = await createMigratedTestDatabase('audit_log', 'apps/audit/prisma/migrations');
    prisma = createPrismaClient(PrismaClient, db.url);
    log = new AuditLog(prisma);
    const handler = new EventRecordedHandler(log);
    pipeline = new ConsumerPipeline<SqlExecutor>({
      consumer: 'audit',
      handlers: auditHandlers.map(({ message }) => ({ message, handler })),
      database: prisma,
    });
  });
  afterAll(async () => {
    await prisma.$disconnect();
    await db.drop();
  });

  const signUp = () =>
    events.create(UserRegistered, {
      userId: randomUUID(),
      email: `${randomUUID()}@example.com`,
      name: 'Ada',
      ip: '203.0.113.7',
      userAgent: 'curl/8',
    });

  it('records who did what, from where and when, with a hash of the payload', async () => {
    const event = signUp();
    await expect(deliver('boxoffice.users', event)).resolves.toEqual([{ kind: 'ack', as: 'done' }]);

    const { entries } = await log.find({ actor: event.payload.userId, limit: 10 });
    expect(entries).toEqual([
      expect.objectContaining({
        eventId: event.id,
        type: 'UserRegistered',
        topic: 'boxoffice.users',
        actor: event.payload.userId,
        ip: '203.0.113.7',
        occurredAt: new Date(event.occurredAt),
      }),
    ]);
    // Recomputable by anyone holding the event: sha256 of the payload with its keys sorted.
    const { email, ip, name, userAgent, userId } = event.payload;
    const canonical = JSON.stringify({ email, ip, name, userAgent, userId });
    expect(entries[0]!.payloadHash).toBe(createHash('sha256').update(canonical).digest('hex'));
  });

  it('names the buyer as the actor of an order event, and nobody for a system event', async () => {
    const order = events.create(OrderConfirmed, {
      orderId: randomUUID(),
      concertId: randomUUID(),
      concertName: 'Night Shift',
      quantity: 1,
      amountCents: 4_500,
      customerEmail: 'grace@example.com',
    });
    const concert = events.create(ConcertScheduled, {
      concertId: randomUUID(),
      name: 'Dawn',
      startsAt: '2027-01-01T20:00:00Z',
      capacity: 10,
      priceCents: 100,
    });
    await deliver('boxoffice.orders', order);
    await deliver('boxoffice.concerts', concert);

    const rows = await prisma.auditLog.findMany({ where: { eventId: { in: [order.id, concert.id] } }, orderBy: { position: 'asc' } });
    expect(rows.map((row) => [row.type, row.actor, row.ip])).toEqual([
      ['OrderConfirmed', 'grace@example.com', null],
      ['ConcertScheduled', null, null],
    ]);
  });

  describe('when the same event arrives twice', () => {
    it('keeps one entry', async () => {
      const event = signUp();
      await Promise.all([deliver('boxoffice.users', event, event), deliver('boxoffice.users', event)]);
      await deliver('boxoffice.users', event);
      await expect(prisma.auditLog.count({ where: { eventId: event.id } })).resolves.toBe(1);
    });
  });

  describe('when it is read a page at a time', () => {
    it('returns every matching entry once, in log order, while more are appended between pages', async () => {
      const actor = `${randomUUID()}@example.com`;
      const append = (n: number) =>
        Promise.all(
          Array.from({ length: n }, () =>
            log.append({
              eventId: randomUUID(),
              type: 'OrderRejected',
              topic: 'boxoffice.orders',
              actor,
              ip: null,
              occurredAt: new Date(),
              payloadHash: 'x',
            }),
          ),
        );
      await append(5);

      const seen: bigint[] = [];
      let cursor: bigint | undefined;
      for (let page = 0; page < 10; page += 1) {
        const { entries, nextCursor } = await log.find({ actor, type: 'OrderRejected', limit: 2, cursor });
        seen.push(...entries.map((entry) => entry.position));
        if (page === 0) await append(2);
        if (nextCursor === null) break;
        cursor = nextCursor;
      }
      expect(seen).toHaveLength(7);
      expect([...seen].sort((a, b) => (a < b ? -1 : 1))).toEqual(seen);
    });

    it('filters by the time the events happened', async () => {
      const actor = `${randomUUID()}@example.com`;
      const at = (iso: string) =>
        log.append({ eventId: randomUUID(), type: 'X', topic: 't', actor, ip: null, occurredAt: new Date(iso), payloadHash: 'x' });
      await at('2026-01-01T00:00:00Z');
      await at('2026-06-01T00:00:00Z');
      const { entries } = await log.find({ actor, since: new Date('2026-03-01T00:00:00Z'), limit: 10 });
      expect(entries.map((entry) => entry.occurredAt.toISOString())).toEqual(['2026-06-01T00:00:00.000Z']);
    });
  });
});
