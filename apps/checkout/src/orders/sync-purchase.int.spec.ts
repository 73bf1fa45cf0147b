import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { PaymentCaptured } from '@boxoffice/contracts';
import {
  ConsumerPipeline,
  EnvelopeFactory,
  MessageSender,
  Routing,
  systemClock,
  type Settlement,
  type SqlExecutor,
} from '@boxoffice/messaging';
import { createServiceDatabase, MetricsRegistry, providePrisma, RetryLaterFilter } from '@boxoffice/platform';
import { createMigratedTestDatabase, waitFor, type TestDatabase } from '@boxoffice/testing';
import { Module, type DynamicModule } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { CHECKOUT_CLOCK, CHECKOUT_CONFIG, checkoutConfigSchema } from '../checkout.config.js';
import { ConcertsService } from '../concerts/concerts.service.js';
import { PrismaClient } from '../generated/prisma/client.js';
import { BillingClient } from './billing.client.js';
import { OrderIdempotency } from './order-idempotency.js';
import { OrderMetrics } from './order.metrics.js';
import { OrderPlacementGroupCommit } from './order-placement.group-commit.js';
import { OrdersController } from './orders.controller.js';
import { WaitingLine } from '../waiting-room/waiting-line.js';
import { OrdersService } from './orders.service.js';
import { PaymentResultHandler } from './payment-result.handler.js';
import { SyncOrderPolicies } from './sync-order.policies.js';

// POST /orders/sync over real HTTP, in front of Checkout's real database, calling a stand-in for
// Billing's HTTP API (POST /charges) that this spec makes answer, hang or go away. Checkout runs
// in-process with only what the synchronous path needs: no broker is involved in it.

const SYNC_TIMEOUT_MS = 500;

/** Billing's POST /charges as the synchronous path sees it: it answers, hangs, or is not there. */
class BillingStandIn {
  mode: 'answer' | 'hang' = 'answer';
  calls = 0;
  inFlight = 0;
  maxInFlight = 0;
  /** What each call asked to charge. */
  readonly requests: Array<{ orderId: string; chargeBy?: string }> = [];
  /** Runs before an answer is written: what Billing does meanwhile, as publishing its PaymentCaptured. */
  beforeAnswer: ((orderId: string) => Promise<void>) | null = null;
  private port = 0;
  private server: Server | undefined;

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    const server = createServer((request, response) => this.charge(request, response));
    server.listen(this.port, '127.0.0.1'); // the same port again after a stop
    await once(server, 'listening');
    this.port = (server.address() as AddressInfo).port;
    this.server = server;
  }

  /** Down: the port refuses connections, as a stopped Billing does. */
  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    server?.closeAllConnections();
    await new Promise((resolve) => server?.close(resolve));
  }

  private charge(request: IncomingMessage, response: ServerResponse): void {
    this.calls++;
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    response.on('close', () => this.inFlight--);
    let body = '';
    request.on('data', (chunk) => (body += chunk));
    request.on('end', () => {
      const charge = JSON.parse(body) as { orderId: string; chargeBy?: string };
      this.requests.push(charge);
      if (this.mode === 'hang') return; // until Checkout gives up and closes the connection
      void (async () => {
        await this.beforeAnswer?.(charge.orderId);
        response
          .writeHead(200, { 'content-type': 'application/json' })
          .end(JSON.stringify({ orderId: charge.orderId, status: 'CAPTURED' }));
      })();
    });
  }
}

describe('POST /orders/sync in front of a Billing that is slow or down', () => {
  let db: TestDatabase;
  let concertId: string;
  const billing = new BillingStandIn();
  const running: NestFastifyApplication[] = [];

  /** A Checkout of its own for each case, so that one case's open circuit is not the next one's. */
  async function startCheckout(settings: Record<string, string> = {}): Promise<string> {
    const config = checkoutConfigSchema.parse({
      DATABASE_URL: db.url,
      BILLING_URL: billing.url,
      SYNC_TIMEOUT_MS: String(SYNC_TIMEOUT_MS),
      ...settings,
    });
    @Module({})
    class SyncPurchaseModule {}
    const module: DynamicModule = {
      module: SyncPurchaseModule,
      controllers: [OrdersController],
      providers: [
        { provide: CHECKOUT_CONFIG, useValue: config },
        { provide: CHECKOUT_CLOCK, useValue: systemClock },
        ...providePrisma(() => createServiceDatabase(PrismaClient, db.url, 4)),
        { provide: MessageSender, useValue: new MessageSender(new EnvelopeFactory('checkout'), new Routing()) },
        OrderIdempotency,
        ConcertsService,
        OrdersService,
        OrderPlacementGroupCommit,
        BillingClient,
        SyncOrderPolicies,
        { provide: MetricsRegistry, useValue: new MetricsRegistry('checkout') },
        OrderMetrics,
        WaitingLine,
      ],
    };
    const app = await NestFactory.create<NestFastifyApplication>(module, new FastifyAdapter(), { logger: ['error'] });
    app.useGlobalFilters(new RetryLaterFilter(app.getHttpAdapter())); // as startService does: a 503's Retry-After
    running.push(app);
    await app.listen(0, '127.0.0.1');
    return `http://127.0.0.1:${(app.getHttpServer().address() as AddressInfo).port}`;
  }

  /** One purchase; every request of this spec must get an HTTP answer, so a socket error fails it. */
  async function buy(checkout: string, idempotencyKey = randomUUID()) {
    const started = performance.now();
    const response = await fetch(`${checkout}/orders/sync`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'idempotency-key': idempotencyKey },
      body: JSON.stringify({ concertId, quantity: 1, customerEmail: 'buyer@example.com' }),
    });
    const body = (await response.json()) as { status?: string; message?: string };
    return {
      status: response.status,
      retryAfter: response.headers.get('retry-after'),
      body,
      ms: performance.now() - started,
      idempotencyKey,
    };
  }

  const ordersWithKeys = async (keys: string[]) =>
    (await db.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM "order" WHERE idempotency_key = ANY($1)', [keys])).rows[0].n;
  const pendingWithKeys = async (keys: string[]) =>
    (
      await db.pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM "order" WHERE idempotency_key = ANY($1) AND status = 'PENDING'`, [
        keys,
      ])
    ).rows[0].n;

  beforeAll(async () => {
    db = await createMigratedTestDatabase('sync_purchase', 'apps/checkout/prisma/migrations');
    concertId = randomUUID();
    await db.pool.query(
      `INSERT INTO concert (id, name, starts_at, capacity, price_cents) VALUES ($1, 'Night Shift', '2027-03-01T20:00:00Z', 1000, 4500)`,
      [concertId],
    );
    await billing.start();
  });
  afterAll(async () => {
    await Promise.all(running.map((app) => app.close()));
    await billing.stop();
    await db.drop();
  });

  describe('when an Idempotency-Key comes again with another body', () => {
    /** A purchase of `quantity` seats with `key`, on either path. */
    const purchase = (checkout: string, path: '/orders' | '/orders/sync', key: string, quantity: number) =>
      fetch(`${checkout}${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'idempotency-key': key },
        body: JSON.stringify({ concertId, quantity, customerEmail: 'buyer@example.com' }),
      });

    it('answers 409 on both paths, as POST /users does for an address used before, and records nothing more', async () => {
      billing.mode = 'answer';
      const checkout = await startCheckout();
      for (const [path, first] of [
        ['/orders', 202],
        ['/orders/sync', 201],
      ] as const) {
        const key = randomUUID();
        expect((await purchase(checkout, path, key, 1)).status).toBe(first);
        const again = await purchase(checkout, path, key, 2);
        expect({ path, status: again.status, body: await again.json() }).toMatchObject({
          path,
          status: 409,
          body: { message: 'this Idempotency-Key was already used with a different request body' },
        });
        // The same body again is the same purchase: the first order, not a second.
        expect((await purchase(checkout, path, key, 1)).status).toBe(first === 202 ? 202 : 201);
        await expect(ordersWithKeys([key])).resolves.toBe(1);
      }
    });
  });

  describe('when one purchase comes twice at once', () => {
    it('places one order and claims its seats once, across instances: the others answer with the first order', async () => {
      billing.mode = 'answer';
      // Two instances: within one, a key's second request waits for its first (OrderIdempotency).
      // Eight calls settling one order queue for its row, the first on a process just started:
      // what this proves is one order, not an answer within the usual deadline (CI once took
      // longer than 500 ms on a loaded machine), so the deadline is far.
      const instances = [await startCheckout({ SYNC_TIMEOUT_MS: '10000' }), await startCheckout({ SYNC_TIMEOUT_MS: '10000' })];
      const claimed = async () =>
        (await db.pool.query<{ n: number }>('SELECT seats_claimed AS n FROM concert WHERE id = $1', [concertId])).rows[0].n;
      const before = await claimed();
      const key = randomUUID();
      const buyOnce = (_: unknown, i: number) =>
        fetch(`${instances[i % 2]}/orders/sync`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'idempotency-key': key },
          body: JSON.stringify({ concertId, quantity: 2, customerEmail: 'twice@example.com' }),
        });

      const answers = await Promise.all(Array.from({ length: 8 }, buyOnce));
      const bodies = (await Promise.all(answers.map((answer) => answer.json()))) as Array<{ id: string }>;

      expect(answers.map((answer) => answer.status)).toEqual(answers.map(() => 201));
      expect(new Set(bodies.map((body) => body.id)).size).toBe(1);
      await expect(ordersWithKeys([key])).resolves.toBe(1);
      await expect(claimed()).resolves.toBe(before + 2);
    });
  });

  describe('when Billing answers', () => {
    it('confirms the purchase in its response and records the order', async () => {
      billing.mode = 'answer';
      const checkout = await startCheckout();

      const bought = await buy(checkout);

      expect(bought).toMatchObject({ status: 201, body: { status: 'CONFIRMED' } });
      await expect(ordersWithKeys([bought.idempotencyKey])).resolves.toBe(1);
    });
  });

  describe('when Billing answers many purchases at the same moment', () => {
    it('settles them in fewer transactions than callers, each answered with its own order CONFIRMED', async () => {
      billing.mode = 'answer';
      const checkout = await startCheckout();
      const callers = 12;
      // Billing holds its answers until every call has come, then gives them all at once.
      let release: () => void = () => {};
      const together = new Promise<void>((resolve) => (release = resolve));
      billing.beforeAnswer = async () => {
        if (billing.inFlight >= callers) release();
        await together;
      };
      try {
        const bought = await Promise.all(Array.from({ length: callers }, () => buy(checkout)));

        expect(bought.map((b) => [b.status, b.body.status])).toEqual(bought.map(() => [201, 'CONFIRMED']));
        // xmin: the transaction that last wrote the row, here the one that settled it.
        const { rows } = await db.pool.query<{ orders: number; transactions: number }>(
          `SELECT count(*)::int AS orders, count(DISTINCT xmin::text)::int AS transactions
             FROM "order" WHERE idempotency_key = ANY($1) AND status = 'CONFIRMED'`,
          [bought.map((b) => b.idempotencyKey)],
        );
        expect(rows[0].orders).toBe(callers);
        expect(rows[0].transactions).toBeLessThan(callers);
      } finally {
        billing.beforeAnswer = null;
      }
    });
  });

  describe('when a purchase made before comes again after the concert sold out', () => {
    it('answers with that order, not 409 sold out', async () => {
      billing.mode = 'answer';
      const checkout = await startCheckout();
      const lastSeat = randomUUID();
      await db.pool.query(
        `INSERT INTO concert (id, name, starts_at, capacity, price_cents) VALUES ($1, 'Last Seat', '2027-03-01T20:00:00Z', 1, 4500)`,
        [lastSeat],
      );
      const purchase = (key: string) =>
        fetch(`${checkout}/orders/sync`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'idempotency-key': key },
          body: JSON.stringify({ concertId: lastSeat, quantity: 1, customerEmail: 'buyer@example.com' }),
        });
      const key = randomUUID();
      const first = await purchase(key);
      const firstOrder = (await first.json()) as { orderId: string; status: string };
      expect([first.status, firstOrder.status]).toEqual([201, 'CONFIRMED']);
      expect((await purchase(randomUUID())).status).toBe(409); // sold out now

      const again = await purchase(key);
      expect([again.status, await again.json()]).toEqual([
        201,
        expect.objectContaining({ orderId: firstOrder.orderId, status: 'CONFIRMED' }),
      ]);
    });
  });

  describe('when Billing’s PaymentCaptured reaches Checkout before its HTTP answer does', () => {
    it('settles the order from the event, not a dead letter, and answers with it CONFIRMED', async () => {
      const database = createServiceDatabase(PrismaClient, db.url, 2);
      const { prisma, sql } = database;
      const messages = new MessageSender(new EnvelopeFactory('checkout'), new Routing());
      const metrics = new OrderMetrics(new MetricsRegistry('checkout'));
      const config = checkoutConfigSchema.parse({ DATABASE_URL: db.url });
      const orders = new OrdersService(
        sql,
        new ConcertsService(prisma, messages),
        messages,
        new OrderPlacementGroupCommit(sql),
        new OrderIdempotency(sql),
        metrics,
        config,
        systemClock,
      );
      const handler = new PaymentResultHandler(orders, metrics);
      const results = new ConsumerPipeline<SqlExecutor>({
        consumer: 'checkout',
        handlers: [{ message: PaymentCaptured, handler }],
        database: sql,
        sender: messages,
      });
      await sql.$queryRawUnsafe('SELECT 1'); // a connection open, so the answer is not held up by its start
      const settlements: Settlement[] = [];
      // Billing captured, wrote PaymentCaptured to its outbox, and Kafka brought it to Checkout while the answer was still on its way.
      billing.beforeAnswer = async (orderId) => {
        const captured = new EnvelopeFactory('billing').create(PaymentCaptured, {
          orderId,
          concertId,
          quantity: 1,
          amountCents: 4500,
          paymentId: randomUUID(),
        });
        settlements.push(
          ...(await results.process('boxoffice.payments', [{ body: JSON.stringify(captured), headers: {} }], {
            ordered: true,
            exclusive: false,
          })),
        );
      };
      billing.mode = 'answer';
      try {
        // Time enough for the event's batch before the answer, on a loaded machine.
        const checkout = await startCheckout({ SYNC_TIMEOUT_MS: '10000' });

        const bought = await buy(checkout);

        expect(settlements).toEqual([{ kind: 'ack', as: 'done' }]);
        expect(bought).toMatchObject({ status: 201, body: { status: 'CONFIRMED' } });
        const { rows } = await db.pool.query<{ type: string }>(
          `SELECT type FROM outbox_message WHERE envelope->'payload'->>'orderId' = (SELECT id::text FROM "order" WHERE idempotency_key = $1)`,
          [bought.idempotencyKey],
        );
        expect(rows).toEqual([{ type: 'OrderConfirmed' }]);
        // Billing is told by when it must charge, and is never asked past it.
        expect(billing.requests.at(-1)?.chargeBy).toEqual(expect.any(String));
      } finally {
        billing.beforeAnswer = null;
        await database.close();
      }
    });
  });

  describe('when Billing hangs', () => {
    it('answers 504 at the deadline (SYNC_TIMEOUT_MS), not when Billing does, with a clear message, and leaves the order PENDING', async () => {
      billing.mode = 'hang';
      const checkout = await startCheckout();

      const bought = await buy(checkout);

      expect(bought.status).toBe(504);
      expect(bought.body.message).toMatch(/within 500 ms; ask again with the same Idempotency-Key/);
      // Within a few hundred milliseconds of it: on a loaded two-core machine the answer itself takes that long to be written.
      expect(bought.ms).toBeLessThan(SYNC_TIMEOUT_MS + 400);
      // Written before Billing was asked: Billing's verdict, if it charged, settles it; else its deadline does.
      await expect(pendingWithKeys([bought.idempotencyKey])).resolves.toBe(1);
      // Checkout hung up on Billing at the deadline rather than leaving the call open.
      await waitFor(
        () => billing.inFlight,
        (n) => n === 0,
        { timeoutMs: 5_000, description: 'Billing to see the call dropped' },
      );
    });

    it('keeps the bulkhead’s calls in flight and its queue waiting, and refuses the rest at once with 503 and Retry-After', async () => {
      billing.mode = 'hang';
      billing.maxInFlight = 0;
      const checkout = await startCheckout({ SYNC_BULKHEAD_SIZE: '2', SYNC_BULKHEAD_QUEUE: '2', SYNC_BREAKER_FAILURES: '100' });

      const answers = await Promise.all(Array.from({ length: 12 }, () => buy(checkout)));

      const refused = answers.filter((a) => a.status === 503);
      const timedOut = answers.filter((a) => a.status === 504);
      expect(refused).toHaveLength(12 - 2 - 2);
      expect(timedOut).toHaveLength(2 + 2); // in flight and queued alike, by the deadline
      for (const answer of refused) {
        expect(answer.retryAfter).toBe('1');
        expect(answer.body.message).toMatch(/too many synchronous purchases in flight/);
      }
      // By the deadline, not Billing's whim: twelve calls at once to a cold app on a loaded two-core
      // machine (three Jest workers) are answered up to a few hundred milliseconds after it.
      for (const answer of timedOut) expect(answer.ms).toBeLessThan(SYNC_TIMEOUT_MS + 400);
      // At once, not at the deadline: every refusal is in before the first timeout (a cold app
      // on a loaded machine takes a few hundred milliseconds for its first answers, so a bound
      // relative to the deadline's answers, not an absolute one).
      expect(Math.max(...refused.map((a) => a.ms))).toBeLessThan(Math.min(...timedOut.map((a) => a.ms)));
      // Billing sees a dropped call end a moment after Checkout has freed its slot: at most, not exactly.
      expect(billing.maxInFlight).toBeLessThanOrEqual(2);
      // Those refused at once wrote nothing; those that had a slot left their order PENDING, for its deadline or a retry with the key.
      await expect(ordersWithKeys(refused.map((a) => a.idempotencyKey))).resolves.toBe(0);
      // Counted in one statement: an order whose insert was still committing when its 504 went out
      // (the deadline fell during the write, on a loaded machine) must not be counted in one query
      // and missed by the next.
      const tried = timedOut.map((a) => a.idempotencyKey);
      const { rows } = await db.pool.query<{ orders: number; pending: number }>(
        `SELECT count(*)::int AS orders, count(*) FILTER (WHERE status = 'PENDING')::int AS pending FROM "order" WHERE idempotency_key = ANY($1)`,
        [tried],
      );
      expect(rows[0].pending).toBe(rows[0].orders);
    });
  });

  describe('when Billing goes down', () => {
    it('opens the circuit after a run of failures, then refuses at once without calling Billing', async () => {
      const checkout = await startCheckout({ SYNC_BREAKER_FAILURES: '3', SYNC_BREAKER_HALF_OPEN_MS: '60000' });
      await billing.stop();

      const failures = [await buy(checkout), await buy(checkout), await buy(checkout)];
      const refused = await buy(checkout);

      expect(failures.map((f) => [f.status, f.body.message])).toEqual(
        Array(3).fill([503, expect.stringMatching(/billing is unavailable/)]),
      );
      expect(refused).toMatchObject({ status: 503, retryAfter: '60', body: { message: expect.stringMatching(/the circuit is open/) } });
      expect(refused.ms).toBeLessThan(100);
      await billing.start();
    });

    it('sends one probe once the half-open delay has passed, and closes the circuit when Billing answers it', async () => {
      billing.mode = 'answer';
      const checkout = await startCheckout({ SYNC_BREAKER_FAILURES: '3', SYNC_BREAKER_HALF_OPEN_MS: '1000' });
      await billing.stop();
      for (let i = 0; i < 3; i++) await buy(checkout);
      await expect(buy(checkout)).resolves.toMatchObject({ status: 503, retryAfter: '1' });
      await billing.start();
      const callsWhileOpen = billing.calls;

      // Open for a second: 503s, none reaching Billing, until the probe is let through and answered.
      const probe = await waitFor(
        () => buy(checkout),
        (b) => b.status !== 503,
        { timeoutMs: 5_000, intervalMs: 100, description: 'the probe to be let through' },
      );

      expect(probe).toMatchObject({ status: 201, body: { status: 'CONFIRMED' } });
      expect(billing.calls).toBe(callsWhileOpen + 1);
      await expect(buy(checkout)).resolves.toMatchObject({ status: 201 });
    });
  });
});
