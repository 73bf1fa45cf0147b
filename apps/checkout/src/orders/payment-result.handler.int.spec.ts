import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { ChargeTimedOut, PaymentCaptured, PaymentDeclined, SeatsUnavailable, type Envelope } from '@boxoffice/contracts';
import {
  ConsumerPipeline,
  EnvelopeFactory,
  MessageSender,
  Routing,
  uuidV7,
  type Clock,
  type InboundMessage,
  type SqlExecutor,
} from '@boxoffice/messaging';
import { createServiceDatabase, MetricsRegistry, type ServiceDatabase, type Sql } from '@boxoffice/platform';
import { createMigratedTestDatabase, waitFor, type TestDatabase } from '@boxoffice/testing';
import { randomUUID } from 'node:crypto';
import { checkoutConfigSchema } from '../checkout.config.js';
import { ConcertsService } from '../concerts/concerts.service.js';
import { PrismaClient } from '../generated/prisma/client.js';
import { OrderIdempotency } from './order-idempotency.js';
import { OrderMetrics } from './order.metrics.js';
import { OrderPlacementGroupCommit } from './order-placement.group-commit.js';
import { OrdersService } from './orders.service.js';
import { PaymentResultHandler } from './payment-result.handler.js';
import { PendingOrderSweeper } from './pending-order.sweeper.js';

// Billing's verdicts as Checkout's consumer pipeline takes them from the payments topic (inbox,
// handler, outbox, one transaction), against Checkout's real database; the broker is left out.

describe('Billing’s verdicts on orders', () => {
  let db: TestDatabase;
  let prisma: PrismaClient;
  let database: ServiceDatabase<PrismaClient>;
  let pipeline: ConsumerPipeline<SqlExecutor>;
  let sweeper: PendingOrderSweeper;
  let orders: OrdersService;
  let sql: Sql;
  let concertId: string;
  const clock: Clock & { at: Date } = { at: new Date('2027-03-01T20:00:00Z'), now: () => clock.at };
  const billing = new EnvelopeFactory('billing');
  const topic = { ordered: true, exclusive: false };

  const deliver = (...envelopes: Envelope[]) =>
    pipeline.process(
      'boxoffice.payments',
      envelopes.map((envelope): InboundMessage => ({ body: JSON.stringify(envelope), headers: {} })),
      topic,
    );

  /** A PENDING order of two seats whose deadline is `msFromNow` on the spec's clock, its seats taken as the door takes them. */
  async function pendingOrder(msFromNow = 600_000, concert = concertId): Promise<string> {
    const id = uuidV7();
    await db.pool.query(
      `WITH placed AS (
         INSERT INTO "order" (id, concert_id, quantity, customer_email, amount_cents, idempotency_key, request_hash, pending_until)
         VALUES ($1, $2, 2, 'buyer@example.com', 9000, $4, 'hash', $3) RETURNING concert_id
       )
       UPDATE concert SET seats_claimed = seats_claimed + 2 WHERE id = (SELECT concert_id FROM placed)`,
      [id, concert, new Date(clock.at.getTime() + msFromNow), id],
    );
    return id;
  }
  /** The seats its orders hold: taken at the door, less those rejected orders gave back. */
  const seatsHeld = async (concert: string) =>
    (
      await db.pool.query<{ seats: number }>(
        `SELECT c.seats_claimed - coalesce(r.seats, 0) AS seats FROM concert c LEFT JOIN concert_seats_returned r ON r.concert_id = c.id WHERE c.id = $1`,
        [concert],
      )
    ).rows[0].seats;

  const orderOf = async (id: string) =>
    (
      await db.pool.query<{ status: string; reason: string | null }>(
        `SELECT status::text, rejection_reason::text AS reason FROM "order" WHERE id = $1`,
        [id],
      )
    ).rows[0];
  const sent = async (type: string, orderId: string) =>
    (
      await db.pool.query<{ payload: Record<string, unknown> }>(
        `SELECT envelope->'payload' AS payload FROM outbox_message WHERE type = $1 AND envelope->'payload'->>'orderId' = $2`,
        [type, orderId],
      )
    ).rows.map((row) => row.payload);

  beforeAll(async () => {
    db = await createMigratedTestDatabase('payment_results', 'apps/checkout/prisma/migrations');
    database = createServiceDatabase(PrismaClient, db.url, 4);
    prisma = database.prisma;
    concertId = randomUUID();
    await db.pool.query(
      `INSERT INTO concert (id, name, starts_at, capacity, price_cents) VALUES ($1, 'Night Shift', '2027-03-02T20:00:00Z', 100, 4500)`,
      [concertId],
    );
    const config = checkoutConfigSchema.parse({});
    const messages = new MessageSender(new EnvelopeFactory('checkout'), new Routing());
    const metrics = new OrderMetrics(new MetricsRegistry('checkout'));
    sql = database.sql;
    orders = new OrdersService(
      database.sql,
      new ConcertsService(prisma, messages),
      messages,
      new OrderPlacementGroupCommit(database.sql),
      new OrderIdempotency(database.sql),
      metrics,
      config,
      clock,
    );
    const handler = new PaymentResultHandler(orders, metrics);
    pipeline = new ConsumerPipeline<SqlExecutor>({
      consumer: 'checkout',
      handlers: [PaymentCaptured, PaymentDeclined, SeatsUnavailable, ChargeTimedOut].map((message) => ({ message, handler })),
      database: database.sql,
      sender: messages,
    });
    sweeper = new PendingOrderSweeper(prisma, orders, messages, metrics, config, clock);
  });
  beforeEach(() => {
    clock.at = new Date('2027-03-01T20:00:00Z');
  });
  afterAll(async () => {
    await database.close();
    await db.drop();
  });

  describe('when PaymentCaptured reaches an order that timed out already', () => {
    it('leaves it REJECTED, TIMED_OUT, as its buyer was told, and asks Billing once for the money back', async () => {
      const orderId = await pendingOrder(60_000);
      clock.at = new Date(clock.at.getTime() + 60_000);
      await sweeper.sweep();
      const paymentId = uuidV7();
      const captured = billing.create(PaymentCaptured, { orderId, concertId, quantity: 2, amountCents: 9000, paymentId });

      await expect(deliver(captured)).resolves.toEqual([{ kind: 'ack', as: 'done' }]);
      // The broker delivers it again: the inbox drops it.
      await expect(deliver(captured)).resolves.toEqual([{ kind: 'ack', as: 'duplicate' }]);

      await expect(orderOf(orderId)).resolves.toEqual({ status: 'REJECTED', reason: 'TIMED_OUT' });
      await expect(sent('RefundPayment', orderId)).resolves.toEqual([{ orderId, paymentId, amountCents: 9000, reason: 'TIMED_OUT' }]);
      await expect(sent('OrderConfirmed', orderId)).resolves.toEqual([]);
      await expect(sent('OrderRejected', orderId)).resolves.toEqual([expect.objectContaining({ reason: 'TIMED_OUT' })]);
    });
  });

  describe('when a verdict is recorded later than Billing reached it', () => {
    it('keeps when Billing decided (the waiting line’s pace), beside when Checkout recorded it', async () => {
      const orderId = await pendingOrder();
      const captured = billing.create(PaymentCaptured, { orderId, concertId, quantity: 2, amountCents: 9000, paymentId: uuidV7() });
      const decidedAt = new Date(Date.now() - 4_000).toISOString();

      await expect(deliver({ ...captured, occurredAt: decidedAt })).resolves.toEqual([{ kind: 'ack', as: 'done' }]);

      const { rows } = await db.pool.query<{ decided_at: Date; settled_at: Date }>(
        `SELECT decided_at, settled_at FROM "order" WHERE id = $1`,
        [orderId],
      );
      expect(rows[0].decided_at.toISOString()).toBe(decidedAt);
      expect(rows[0].settled_at.getTime()).toBeGreaterThan(rows[0].decided_at.getTime() + 3_000);
    });
  });

  describe('when PaymentCaptured reaches a PENDING order', () => {
    it('confirms it and refunds nothing', async () => {
      const orderId = await pendingOrder();

      await deliver(billing.create(PaymentCaptured, { orderId, concertId, quantity: 2, amountCents: 9000, paymentId: uuidV7() }));

      await expect(orderOf(orderId)).resolves.toEqual({ status: 'CONFIRMED', reason: null });
      await expect(sent('RefundPayment', orderId)).resolves.toEqual([]);
    });
  });

  describe('when Billing declined a charge because its charge-by passed', () => {
    it('settles the order REJECTED, TIMED_OUT, and says so to the subscribers', async () => {
      const orderId = await pendingOrder();

      await deliver(billing.create(ChargeTimedOut, { orderId, concertId, chargeBy: clock.at.toISOString() }));

      await expect(orderOf(orderId)).resolves.toEqual({ status: 'REJECTED', reason: 'TIMED_OUT' });
      await expect(sent('OrderRejected', orderId)).resolves.toEqual([expect.objectContaining({ reason: 'TIMED_OUT' })]);
    });
  });

  describe('when two batches settle the same orders at once, each listing them in its own order', () => {
    // Checkout's HTTP answers of the synchronous path and Billing's events on Kafka settle the same
    // orders at the same moment, each a batch in its own transaction (bench:ticket-sale's sync
    // phase: PostgreSQL found them deadlocked, and a buyer got a 500).
    it('takes the orders one after the other in one order, so that neither deadlocks the other', async () => {
      const [first, second] = (await Promise.all([pendingOrder(), pendingOrder()])).sort();
      const captured = { status: 'CONFIRMED' } as const;
      const send = () => undefined;
      let holdsFirst: () => void = () => {};
      const firstHeld = new Promise<void>((resolve) => (holdsFirst = resolve));
      let otherWaits: (waited: Promise<unknown>) => void = () => {};
      const blocked = new Promise<unknown>((resolve) => (otherWaits = resolve));
      // One transaction settles the first order, waits until the other is blocked on it, then settles the second.
      const one = sql.$transaction(async (tx) => {
        await orders.settleAll(tx, [{ orderId: first, settlement: captured }], send);
        holdsFirst();
        await blocked;
        return orders.settleAll(tx, [{ orderId: second, settlement: captured }], send);
      });
      await firstHeld;
      // The other lists the second order before the first.
      const other = sql.$transaction((tx) =>
        orders.settleAll(
          tx,
          [second, first].map((orderId) => ({ orderId, settlement: captured })),
          send,
        ),
      );
      otherWaits(
        waitFor(
          () => db.pool.query(`SELECT 1 FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'`),
          (result) => result.rowCount === 1,
          { timeoutMs: 5_000, description: 'the other batch to wait for the first order' },
        ),
      );

      await expect(one).resolves.toEqual(new Map([[second, 'settled']]));
      await expect(other).resolves.toEqual(
        new Map([
          [second, 'settled before'],
          [first, 'settled before'],
        ]),
      );
    });
  });

  describe('when an order is rejected', () => {
    it('gives its seats back to the buyers who come after, once; a confirmed order keeps them', async () => {
      const hall = randomUUID();
      await db.pool.query(
        `INSERT INTO concert (id, name, starts_at, capacity, price_cents) VALUES ($1, 'Small Hall', '2027-03-03T20:00:00Z', 4, 4500)`,
        [hall],
      );
      const [declined, captured] = [await pendingOrder(600_000, hall), await pendingOrder(600_000, hall)];
      await expect(seatsHeld(hall)).resolves.toBe(4);

      const decline = billing.create(PaymentDeclined, { orderId: declined, concertId: hall, amountCents: 9000, reason: 'card declined' });
      await deliver(
        decline,
        billing.create(PaymentCaptured, { orderId: captured, concertId: hall, quantity: 2, amountCents: 9000, paymentId: uuidV7() }),
      );
      await expect(seatsHeld(hall)).resolves.toBe(2);

      // Told again (a duplicate, or the sweeper after it), the order is settled already: nothing more comes back.
      await deliver(billing.create(PaymentDeclined, { orderId: declined, concertId: hall, amountCents: 9000, reason: 'card declined' }));
      await expect(seatsHeld(hall)).resolves.toBe(2);
    });
  });
});
