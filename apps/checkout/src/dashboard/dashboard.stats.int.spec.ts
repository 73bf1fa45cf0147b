import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { OutboxRelay, silentLogger, type ChannelDepth } from '@boxoffice/messaging';
import { createPrismaClient, MessagingRuntime, PRISMA } from '@boxoffice/platform';
import { createMigratedTestDatabase, waitFor, type TestDatabase } from '@boxoffice/testing';
import { Module, type DynamicModule } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import pg from 'pg';
import { PrismaClient } from '../generated/prisma/client.js';
import { ChargeQueueDepth } from './charge-queue.depth.js';
import { DashboardController } from './dashboard.controller.js';
import { DashboardStats } from './dashboard.stats.js';
import { checkoutConfigSchema } from '../checkout.config.js';
import { WaitingLine } from '../waiting-room/waiting-line.js';

const READERS = 50;

// GET /dashboard/stats over real HTTP, in front of Checkout's real database. The charge queue's
// depth comes from a stand-in for the messaging runtime that counts how often it is asked; the
// runtime's outbox relay is a real one whose pool has no connection left, as when the relay is busy.
describe('GET /dashboard/stats while many pages poll it', () => {
  let db: TestDatabase;
  let prisma: PrismaClient;
  let relayPool: pg.Pool;
  let relayConnection: pg.PoolClient;
  let app: NestFastifyApplication;
  let url: string;
  const concertId = randomUUID();
  /** The database statements the dashboard ran, by what they read. */
  const statements: string[] = [];
  let depthReads = 0;
  /** Calls of DashboardStats.read: requests that reached it. */
  let readers = 0;
  /** What the dashboard asks of the database and the broker waits here, so a case can hold a computation open. */
  let gate: Promise<void> = Promise.resolve();

  /** The service's Prisma client, counting what the dashboard asks of it. */
  function counting(client: PrismaClient): PrismaClient {
    const count =
      (name: string, run: (...args: never[]) => unknown) =>
      async (...args: never[]) => {
        statements.push(name);
        await gate;
        return run(...args);
      };
    return new Proxy(client, {
      get(target, property) {
        const value = Reflect.get(target, property, target) as unknown;
        if (property === 'order') {
          const orders = value as PrismaClient['order'];
          return { ...orders, groupBy: count('orders', orders.groupBy.bind(orders) as never) };
        }
        if (property === '$queryRawUnsafe') return count('outbox', target.$queryRawUnsafe.bind(target) as never);
        return value;
      },
    });
  }

  const runtimeStandIn = () => ({
    relay: new OutboxRelay(relayPool, [], { logger: silentLogger }),
    async depthOf(): Promise<ChannelDepth> {
      depthReads += 1;
      await gate;
      return { channel: 'billing.charge-order', waiting: 7, consumers: 2 } as ChannelDepth;
    },
  });

  /** A Checkout of its own for each case, so that no case reads figures another one left. */
  async function startDashboard(): Promise<void> {
    await app?.close();
    @Module({})
    class DashboardModule {}
    const module: DynamicModule = {
      module: DashboardModule,
      controllers: [DashboardController],
      providers: [
        { provide: PRISMA, useValue: counting(prisma) },
        { provide: MessagingRuntime, useValue: runtimeStandIn() },
        ChargeQueueDepth,
        DashboardStats,
        // The waiting line reads the database on its own clock: through a client the spec does not count.
        { provide: WaitingLine, useFactory: () => new WaitingLine(prisma, checkoutConfigSchema.parse({})) },
      ],
    };
    app = await NestFactory.create<NestFastifyApplication>(module, new FastifyAdapter(), { logger: ['error'] });
    await app.listen(0, '127.0.0.1');
    url = `http://127.0.0.1:${(app.getHttpServer().address() as AddressInfo).port}`;
    const stats = app.get(DashboardStats);
    const read = stats.read.bind(stats);
    stats.read = (concertId) => {
      readers += 1;
      return read(concertId);
    };
    statements.length = 0;
    depthReads = 0;
    readers = 0;
  }

  /**
   * `READERS` requests at the same moment: their computation is held open until every one of them
   * has reached the dashboard, however slowly a loaded machine lets them in.
   */
  async function readAtOnce(query = '') {
    let open!: () => void;
    gate = new Promise((resolve) => (open = resolve));
    const answers = Promise.all(Array.from({ length: READERS }, () => read(query)));
    try {
      await waitFor(
        () => readers,
        (n) => n === READERS,
        { description: `${READERS} requests to reach the dashboard` },
      );
    } finally {
      open();
    }
    return answers;
  }

  const read = async (query = '') => {
    const response = await fetch(`${url}/dashboard/stats${query}`, { signal: AbortSignal.timeout(20_000) });
    expect(response.status).toBe(200);
    return (await response.json()) as {
      outboxPending: number;
      queueDepth: number;
      orders: { total: number };
      concert?: { orders: { total: number } };
    };
  };

  beforeAll(async () => {
    db = await createMigratedTestDatabase('checkout_dashboard', 'apps/checkout/prisma/migrations');
    await db.pool.query(
      `INSERT INTO concert (id, name, starts_at, capacity, price_cents) VALUES ($1, 'Night Shift', '2027-03-01T20:00:00Z', 100, 4500)`,
      [concertId],
    );
    await db.pool.query(
      `INSERT INTO "order" (id, concert_id, quantity, customer_email, amount_cents, status, idempotency_key, request_hash)
       SELECT gen_random_uuid(), $1, 1, 'ada@example.com', 4500, s::order_status, gen_random_uuid()::text, 'h'
         FROM unnest(ARRAY['PENDING', 'CONFIRMED', 'CONFIRMED']) AS s`,
      [concertId],
    );
    await db.pool.query(
      `INSERT INTO outbox_message (id, type, destination, partition_key, envelope)
       SELECT gen_random_uuid(), 'ChargeOrder', '{}', 'k', '{}' FROM generate_series(1, 4)`,
    );
    // The relay's pool, every connection of it taken.
    relayPool = new pg.Pool({ connectionString: db.url, max: 1 });
    relayConnection = await relayPool.connect();
    prisma = createPrismaClient(PrismaClient, db.url, 4);
  });
  afterAll(async () => {
    await app?.close();
    relayConnection?.release();
    await relayPool?.end();
    await prisma?.$disconnect();
    await db?.drop();
  });

  it("answers from the service's own database client while the relay has no connection to spare", async () => {
    await startDashboard();
    await expect(read()).resolves.toMatchObject({ outboxPending: 4, queueDepth: 7, orders: { total: 3 } });
    expect(relayPool.waitingCount).toBe(0); // nobody queued for the relay's connection
  });

  it('works its figures out once for all the readers of the moment', async () => {
    await startDashboard();
    const answers = await readAtOnce();

    expect(new Set(answers.map((answer) => JSON.stringify(answer))).size).toBe(1);
    expect(depthReads).toBe(1);
    expect(statements.sort()).toEqual(['orders', 'outbox']);
  });

  it("counts a concert's orders once for all who ask about it at the same moment", async () => {
    await startDashboard();
    const answers = await readAtOnce(`?concertId=${concertId}`);

    expect(answers.every((answer) => answer.concert?.orders.total === 3)).toBe(true);
    expect(depthReads).toBe(1);
    expect(statements.sort()).toEqual(['orders', 'orders', 'outbox']); // the concert's, and all orders
  });
});
