import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { EnvelopeFactory, MessageSender, Routing, uuidV7, type Clock } from '@boxoffice/messaging';
import { createServiceDatabase, MetricsRegistry } from '@boxoffice/platform';
import { createMigratedTestDatabase, waitFor, type TestDatabase } from '@boxoffice/testing';
import { randomUUID } from 'node:crypto';
import { checkoutConfigSchema, type CheckoutConfig } from '../checkout.config.js';
import { ConcertsService } from '../concerts/concerts.service.js';
import { PrismaClient } from '../generated/prisma/client.js';
import { OrderIdempotency } from './order-idempotency.js';
import { OrderMetrics } from './order.metrics.js';
import { OrderPlacementGroupCommit } from './order-placement.group-commit.js';
import { OrdersService } from './orders.service.js';
import { PendingOrderSweeper } from './pending-order.sweeper.js';

// The sweeper against Checkout's real database, on a clock of the spec's own: orders are written
// with their deadline behind or ahead of it, and the sweeper settles those past it.

describe('the sweeper of orders left PENDING past their deadline', () => {
  let db: TestDatabase;
  const databases: Array<{ close(): Promise<void> }> = [];
  let concertId: string;
  const clock: Clock & { at: Date } = { at: new Date('2027-03-01T20:00:00Z'), now: () => clock.at };
  const config: CheckoutConfig = checkoutConfigSchema.parse({ ORDER_SWEEP_INTERVAL_MS: '60000' });

  /** A Checkout instance's sweeper, with its own connection pool. */
  function sweeper(): PendingOrderSweeper {
    const database = createServiceDatabase(PrismaClient, db.url, 4);
    const { prisma, sql } = database;
    databases.push(database);
    const messages = new MessageSender(new EnvelopeFactory('checkout'), new Routing());
    const metrics = new OrderMetrics(new MetricsRegistry('checkout'));
    const orders = new OrdersService(
      sql,
      new ConcertsService(prisma, messages),
      messages,
      new OrderPlacementGroupCommit(sql),
      new OrderIdempotency(sql),
      metrics,
      config,
      clock,
    );
    return new PendingOrderSweeper(prisma, orders, messages, metrics, config, clock);
  }

  /** `count` PENDING orders whose deadline is `pendingUntil`. */
  async function pendingOrders(count: number, pendingUntil: Date): Promise<string[]> {
    const ids = Array.from({ length: count }, () => uuidV7());
    await db.pool.query(
      `INSERT INTO "order" (id, concert_id, quantity, customer_email, amount_cents, idempotency_key, request_hash, pending_until)
       SELECT id, $2, 1, 'buyer@example.com', 4500, id::text, 'hash', $3 FROM unnest($1::uuid[]) AS id`,
      [ids, concertId, pendingUntil],
    );
    return ids;
  }

  const statusOf = async (ids: string[]) =>
    (
      await db.pool.query<{ status: string; reason: string | null; n: number }>(
        `SELECT status::text, rejection_reason::text AS reason, count(*)::int AS n FROM "order" WHERE id = ANY($1) GROUP BY 1, 2`,
        [ids],
      )
    ).rows;
  const rejectionsOf = async (ids: string[]) =>
    (
      await db.pool.query<{ order_id: string; reason: string; n: number }>(
        `SELECT envelope->'payload'->>'orderId' AS order_id, envelope->'payload'->>'reason' AS reason, count(*)::int AS n
           FROM outbox_message WHERE type = 'OrderRejected' AND envelope->'payload'->>'orderId' = ANY($1) GROUP BY 1, 2`,
        [ids],
      )
    ).rows;

  beforeAll(async () => {
    db = await createMigratedTestDatabase('pending_sweeper', 'apps/checkout/prisma/migrations');
    concertId = randomUUID();
    await db.pool.query(
      `INSERT INTO concert (id, name, starts_at, capacity, price_cents) VALUES ($1, 'Night Shift', '2027-03-02T20:00:00Z', 10000, 4500)`,
      [concertId],
    );
  });
  beforeEach(async () => {
    await db.pool.query('TRUNCATE outbox_message');
  });
  afterAll(async () => {
    await Promise.all(databases.map((database) => database.close()));
    await db.drop();
  });

  describe('when two Checkout instances sweep at once', () => {
    it('settles each order past its deadline REJECTED, TIMED_OUT, exactly once, and leaves the others PENDING', async () => {
      // More than two batches of 500, so both sweepers take several batches side by side.
      const late = await pendingOrders(1_200, new Date(clock.at.getTime() - 1));
      const onTime = await pendingOrders(10, new Date(clock.at.getTime() + 60_000));

      const settled = await Promise.all([sweeper().sweep(), sweeper().sweep()]);

      expect(settled[0] + settled[1]).toBe(1_200);
      await expect(statusOf(late)).resolves.toEqual([{ status: 'REJECTED', reason: 'TIMED_OUT', n: 1_200 }]);
      await expect(statusOf(onTime)).resolves.toEqual([{ status: 'PENDING', reason: null, n: 10 }]);
      // One OrderRejected per order, in the outbox with the change, for Email, Analytics and Audit.
      const rejections = await rejectionsOf(late);
      expect(rejections).toHaveLength(1_200);
      expect(rejections.every((r) => r.n === 1 && r.reason === 'TIMED_OUT')).toBe(true);
    });
  });

  describe('when the deadline of an order passes later', () => {
    it('settles it on a sweep after that, not before', async () => {
      const [order] = await pendingOrders(1, new Date(clock.at.getTime() + 30_000));
      const instance = sweeper();

      await expect(instance.sweep()).resolves.toBe(0);
      clock.at = new Date(clock.at.getTime() + 30_000);
      await expect(instance.sweep()).resolves.toBe(1);

      await expect(statusOf([order])).resolves.toEqual([{ status: 'REJECTED', reason: 'TIMED_OUT', n: 1 }]);
    });
  });

  describe('when a payment result is settling an order at the moment it passes its deadline', () => {
    it('leaves the order to the result, which commits its verdict', async () => {
      const [order] = await pendingOrders(1, new Date(clock.at.getTime() - 1));
      const settling = await db.pool.connect();
      try {
        await settling.query('BEGIN');
        await settling.query(`UPDATE "order" SET status = 'CONFIRMED', settled_at = now() WHERE id = $1`, [order]);

        // Not blocked by the row the result holds: SKIP LOCKED passes over it.
        await expect(sweeper().sweep()).resolves.toBe(0);
        await settling.query('COMMIT');
      } finally {
        settling.release();
      }

      await expect(sweeper().sweep()).resolves.toBe(0);
      await expect(statusOf([order])).resolves.toEqual([{ status: 'CONFIRMED', reason: null, n: 1 }]);
      await expect(rejectionsOf([order])).resolves.toEqual([]);
    });
  });

  describe('as part of the application', () => {
    it('sweeps once started, and stops at shutdown without waiting out its interval', async () => {
      const [order] = await pendingOrders(1, new Date(clock.at.getTime() - 1));
      const instance = sweeper();

      instance.onApplicationBootstrap();
      await waitFor(
        () => statusOf([order]),
        (rows) => rows[0]?.status === 'REJECTED',
        { timeoutMs: 10_000, description: 'the order to be timed out' },
      );
      const stopping = performance.now();
      await instance.beforeApplicationShutdown();

      // The interval is a minute: a stop that waited for it would take that long.
      expect(performance.now() - stopping).toBeLessThan(1_000);
    });
  });
});
