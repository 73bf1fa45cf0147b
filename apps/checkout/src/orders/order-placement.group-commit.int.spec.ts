import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { ChargeOrder, queues } from '@boxoffice/contracts';
import { EnvelopeFactory, MessageSender, Routing, uuidV7 } from '@boxoffice/messaging';
import { createServiceDatabase, type ServiceDatabase } from '@boxoffice/platform';
import { createMigratedTestDatabase, waitFor, type TestDatabase } from '@boxoffice/testing';
import { randomUUID } from 'node:crypto';
import { PrismaClient } from '../generated/prisma/client.js';
import { OrderPlacementGroupCommit, PLACEMENTS_IN_FLIGHT, type Placement } from './order-placement.group-commit.js';

describe('the group commit behind POST /orders', () => {
  let db: TestDatabase;
  let prisma: PrismaClient;
  let database: ServiceDatabase<PrismaClient>;
  let placements: OrderPlacementGroupCommit;
  let concertId: string;
  const messages = new MessageSender(new EnvelopeFactory('checkout'), new Routing());

  beforeAll(async () => {
    db = await createMigratedTestDatabase('group_commit', 'apps/checkout/prisma/migrations');
    database = createServiceDatabase(PrismaClient, db.url);
    prisma = database.prisma;
    placements = new OrderPlacementGroupCommit(database.sql);
    concertId = randomUUID();
    await prisma.concert.create({
      data: { id: concertId, name: 'Night Shift', startsAt: new Date('2027-01-01T20:00:00Z'), capacity: 100, priceCents: 4500 },
    });
  });
  afterAll(async () => {
    await database.close();
    await db.drop();
  });

  const placement = (idempotencyKey = randomUUID(), concert = concertId): Placement => {
    const id = uuidV7();
    const order = { concertId: concert, quantity: 2, customerEmail: 'ada@example.com' };
    return {
      id,
      ...order,
      amountCents: 9000,
      idempotencyKey,
      requestHash: 'hash',
      pendingUntil: new Date(Date.now() + 600_000),
      command: messages.entry(ChargeOrder, { orderId: id, ...order }),
    };
  };
  const outboxOf = async (orderIds: string[]) =>
    (
      await db.pool.query<{ order_id: string; type: string; partition_key: string; id: string }>(
        `SELECT envelope->'payload'->>'orderId' AS order_id, type, partition_key, id::text FROM outbox_message WHERE envelope->'payload'->>'orderId' = ANY($1)`,
        [orderIds],
      )
    ).rows;

  describe('when many purchases arrive at once', () => {
    it('commits them in fewer statements than purchases, each order with its ChargeOrder', async () => {
      const batch = Array.from({ length: 40 }, () => placement());
      const statementsBefore = placements.counters.statements;

      const placed = await Promise.all(batch.map((p) => placements.place(p)));

      expect(placed.every((p) => p !== null && p !== 'sold out')).toBe(true);
      expect(placements.counters.statements - statementsBefore).toBeLessThan(batch.length);
      const orders = await prisma.order.findMany({ where: { id: { in: batch.map((p) => p.id) } } });
      expect(orders).toHaveLength(40);
      expect(new Set(orders.map((o) => o.status))).toEqual(new Set(['PENDING']));
      const outbox = await outboxOf(batch.map((p) => p.id));
      expect(outbox).toHaveLength(40);
      // As Outbox.add writes a command: its own id is its partition key.
      for (const row of outbox) expect(row).toMatchObject({ type: 'ChargeOrder', partition_key: `${queues.chargeOrder}:${row.order_id}` });
    });
  });

  describe('when an Idempotency-Key is already taken', () => {
    it('places nothing and queues no charge for the repeat, in the same batch or a later one', async () => {
      const key = randomUUID();
      const [first, sameBatch] = await Promise.all([placements.place(placement(key)), placements.place(placement(key))]);
      const later = placement(key);
      const afterwards = await placements.place(later);

      expect([first, sameBatch].filter((p) => p !== null)).toHaveLength(1);
      expect(afterwards).toBeNull();
      await expect(prisma.order.count({ where: { idempotencyKey: key } })).resolves.toBe(1);
      await expect(outboxOf([later.id])).resolves.toEqual([]);
    });
  });

  describe('when the statement fails', () => {
    it('writes nothing of its batch and rejects every purchase in it', async () => {
      // The statements in flight (its limit) make the next two purchases wait and share one batch.
      const ahead = Array.from({ length: PLACEMENTS_IN_FLIGHT }, () => placements.place(placement()));
      const good = placement();
      const bad = { ...placement(), customerEmail: null as unknown as string }; // the column is NOT NULL

      const [goodResult, badResult] = await Promise.allSettled([placements.place(good), placements.place(bad)]);
      await Promise.all(ahead);

      expect([goodResult.status, badResult.status]).toEqual(['rejected', 'rejected']);
      await expect(prisma.order.count({ where: { id: { in: [good.id, bad.id] } } })).resolves.toBe(0);
      await expect(outboxOf([good.id, bad.id])).resolves.toEqual([]);
    });
  });

  describe('when a concert has fewer seats left than buyers', () => {
    it('admits buyers in arrival order while their seats fit, turns the rest away, and queues no charge for them', async () => {
      const smallHall = randomUUID();
      await prisma.concert.create({
        data: { id: smallHall, name: 'Small Hall', startsAt: new Date('2027-01-02T20:00:00Z'), capacity: 5, priceCents: 4500 },
      });
      // The statements in flight make the next four purchases wait and share one batch.
      const ahead = Array.from({ length: PLACEMENTS_IN_FLIGHT }, () => placements.place(placement()));
      const buyers = Array.from({ length: 4 }, () => placement(randomUUID(), smallHall));

      const placed = await Promise.all(buyers.map((p) => placements.place(p)));
      await Promise.all(ahead);

      // Two seats each: the first two fit in five, the third (six) does not, nor the fourth.
      expect(placed.map((p) => (p === 'sold out' ? p : 'placed'))).toEqual(['placed', 'placed', 'sold out', 'sold out']);
      const [first, second] = placed as Array<{ lineNumber: number }>;
      expect(second.lineNumber).toBeGreaterThan(first.lineNumber);
      await expect(prisma.concert.findUniqueOrThrow({ where: { id: smallHall } })).resolves.toMatchObject({ seatsClaimed: 4 });
      await expect(prisma.order.count({ where: { concertId: smallHall } })).resolves.toBe(2);
      await expect(outboxOf(buyers.slice(2).map((p) => p.id))).resolves.toEqual([]);

      // A later buyer of the one seat left is admitted; the hall is then full.
      const lastSeat = { ...placement(randomUUID(), smallHall), quantity: 1 };
      await expect(placements.place(lastSeat)).resolves.toMatchObject({ lineNumber: expect.any(Number) });
      await expect(placements.place({ ...placement(randomUUID(), smallHall), quantity: 1 })).resolves.toBe('sold out');
      await expect(prisma.concert.findUniqueOrThrow({ where: { id: smallHall } })).resolves.toMatchObject({ seatsClaimed: 5 });

      // A rejected order of two seats gives them back (OrdersService.settleAll): the next buyer of two gets them.
      await db.pool.query(`INSERT INTO concert_seats_returned (concert_id, seats) VALUES ($1, 2)`, [smallHall]);
      await expect(placements.place(placement(randomUUID(), smallHall))).resolves.toMatchObject({ lineNumber: expect.any(Number) });
      await expect(placements.place(placement(randomUUID(), smallHall))).resolves.toBe('sold out');
    });
  });

  describe('when a concert was found sold out a moment ago', () => {
    it('turns its next buyers away without a statement, but not a repeat of a purchase made before, and offers seats that come back', async () => {
      const hall = randomUUID();
      await prisma.concert.create({
        data: { id: hall, name: 'Tiny Hall', startsAt: new Date('2027-01-03T20:00:00Z'), capacity: 2, priceCents: 4500 },
      });
      const firstKey = randomUUID();
      await expect(placements.place(placement(firstKey, hall))).resolves.toMatchObject({ lineNumber: expect.any(Number) });
      await expect(placements.place(placement(randomUUID(), hall))).resolves.toBe('sold out');
      const statements = placements.counters.statements;

      expect(placements.soldOutFor(hall, 1, randomUUID())).toBe(true);
      await expect(Promise.all([placements.keyUsed(firstKey), placements.keyUsed(randomUUID())])).resolves.toEqual([true, false]);
      expect(placements.counters.statements).toBe(statements);
      // Another concert's seats are its own; a purchase with a key on its way is left to its statement.
      expect(placements.soldOutFor(concertId, 1, randomUUID())).toBe(false);
      const onItsWay = placement(randomUUID(), hall);
      const placing = placements.place(onItsWay);
      expect(placements.soldOutFor(hall, 1, onItsWay.idempotencyKey)).toBe(false);
      await expect(placing).resolves.toBe('sold out');

      // A rejected order gives its two seats back: a moment later, the next buyer gets them.
      await db.pool.query(`INSERT INTO concert_seats_returned (concert_id, seats) VALUES ($1, 2)`, [hall]);
      await waitFor(
        () => Promise.resolve(placements.soldOutFor(hall, 2, randomUUID())),
        (gone) => !gone,
        { timeoutMs: 5_000, description: 'the memory of the sold-out hall to lapse' },
      );
      await expect(placements.place(placement(randomUUID(), hall))).resolves.toMatchObject({ lineNumber: expect.any(Number) });
    });
  });
});
