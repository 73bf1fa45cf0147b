import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { loadConfig } from '@boxoffice/config';
import { OrderConfirmed, UserRegistered, type Envelope } from '@boxoffice/contracts';
import { ConsumerPipeline, EnvelopeFactory, InboxPruner, silentLogger, type SqlExecutor } from '@boxoffice/messaging';
import { brokerSettings, createPrismaClient } from '@boxoffice/platform';
import { createMigratedTestDatabase, type TestDatabase } from '@boxoffice/testing';
import { randomUUID } from 'node:crypto';
import { analyticsConfigSchema } from '../analytics.config.js';
import { analyticsHandlers } from '../analytics.handlers.js';
import { PrismaClient } from '../generated/prisma/client.js';
import { rebuildProjections } from '../rebuild/projections.rebuild.js';
import { StatsService } from '../stats/stats.service.js';
import { ProjectionsHandler } from './projections.handler.js';

const DAY_MS = 24 * 60 * 60 * 1_000;
/**
 * The longest a record of Analytics' log can come back after Analytics counted it: a copy
 * dead-lettered beside it and replayed from the dead-letter topic on its last day, then read
 * again by a group reset on that record's last day (inbox.retention.ts in libs/messaging).
 */
const LONGEST_COMEBACK_DAYS = 35;

// Analytics dedupes with its inbox, and its rebuild counts exactly the events that inbox holds.
// Pruning the inbox must change neither: the service's window outlasts every copy of an event
// that can come back, so a row is gone only once its event can no longer be read again.
describe("Analytics' numbers when its inbox has been pruned", () => {
  let db: TestDatabase;
  let prisma: PrismaClient;
  let pipeline: ConsumerPipeline<SqlExecutor>;
  let stats: StatsService;
  /** What the event log still holds: the records the replays below read again. */
  let retained: Envelope[];
  const happenedAt = (at: string) => new EnvelopeFactory('checkout', { now: () => new Date(at) });
  const expiredConcert = randomUUID();
  const retainedConcert = randomUUID();

  const deliver = (events: ReadonlyArray<Envelope>) =>
    pipeline.process(
      'boxoffice.orders',
      events.map((event) => ({ body: JSON.stringify(event), headers: {} })),
      { ordered: true, exclusive: false },
    );
  /** Events counted `daysAgo` days ago: delivered, and their inbox rows dated back that far. */
  async function countedDaysAgo(daysAgo: number, events: Envelope[]): Promise<Envelope[]> {
    await deliver(events);
    await prisma.$executeRawUnsafe(
      `UPDATE inbox_message SET received_at = now() - make_interval(secs => $2::float8 / 1000) WHERE message_id = ANY($1::uuid[])`,
      events.map((event) => event.id),
      daysAgo * DAY_MS,
    );
    return events;
  }
  const confirmed = (at: string, concertId: string, quantity: number) =>
    happenedAt(at).create(OrderConfirmed, {
      orderId: randomUUID(),
      concertId,
      concertName: concertId === expiredConcert ? 'Long Gone' : 'Still Here',
      quantity,
      amountCents: quantity * 2_500,
      customerEmail: 'ada@example.com',
    });
  const signUp = (at: string) =>
    happenedAt(at).create(UserRegistered, {
      userId: randomUUID(),
      email: `${randomUUID()}@example.com`,
      name: 'Ada',
      ip: null,
      userAgent: null,
    });
  const inboxIds = async () =>
    new Set(
      (
        await prisma.$queryRawUnsafe<Array<{ id: string }>>(`SELECT message_id::text AS id FROM inbox_message WHERE consumer = 'analytics'`)
      ).map((row) => row.id),
    );
  const concert = async (concertId: string) => (await stats.stats()).concerts.find((c) => c.concertId === concertId);

  beforeAll(async () => {
    db = await createMigratedTestDatabase('analytics_pruned_inbox', 'apps/analytics/prisma/migrations');
    prisma = createPrismaClient(PrismaClient, db.url);
    const handler = new ProjectionsHandler();
    pipeline = new ConsumerPipeline<SqlExecutor>({
      consumer: 'analytics',
      handlers: analyticsHandlers.map(({ message }) => ({ message, handler })),
      database: prisma,
    });
    stats = new StatsService(prisma);
  });
  beforeEach(async () => {
    await prisma.$executeRawUnsafe('TRUNCATE inbox_message, daily_signups, daily_sales, concert_sales');
    // Counted longer ago than the window: the log has long dropped these records.
    const expired = await countedDaysAgo(45, [confirmed('2026-10-01T10:00:00Z', expiredConcert, 2), signUp('2026-10-01T10:00:00Z')]);
    retained = [
      // Counted as long ago as a record can come back: a replayed dead letter read again by a group reset.
      ...(await countedDaysAgo(LONGEST_COMEBACK_DAYS, [
        confirmed('2026-11-10T10:00:00Z', retainedConcert, 3),
        signUp('2026-11-10T11:00:00Z'),
      ])),
      ...(await countedDaysAgo(1, [confirmed('2026-11-14T10:00:00Z', retainedConcert, 1)])),
      ...(await countedDaysAgo(0, [confirmed('2026-11-15T10:00:00Z', retainedConcert, 4), signUp('2026-11-15T11:00:00Z')])),
    ];

    // The pruner the service runs, with the window Analytics is configured with by default.
    const { inboxRetentionMs } = brokerSettings(loadConfig(analyticsConfigSchema, {}));
    const pruned = await new InboxPruner({ database: prisma, retentionMs: inboxRetentionMs, logger: silentLogger }).pruneOnce();
    expect(pruned).toBe(expired.length);
    expect(await inboxIds()).toEqual(new Set(retained.map((event) => event.id)));
  });
  afterAll(async () => {
    await prisma.$disconnect();
    await db.drop();
  });

  describe('when a group reset reads every record the log keeps again, with a replayed dead letter', () => {
    it('counts none of them twice', async () => {
      const before = await stats.stats();
      await deliver(retained);
      await deliver([retained[0]]); // a copy of the oldest, dead-lettered and replayed on its last day
      await expect(stats.stats()).resolves.toEqual(before);
      expect(before.sales.confirmed).toBe(4);
      expect(before.signups.total).toBe(3);
    });
  });

  describe('when the projections are rebuilt from the log', () => {
    it('counts every event the log keeps once, as the live consumer did', async () => {
      const before = await concert(retainedConcert);
      // Damaged numbers: what a rebuild is for.
      await prisma.$executeRawUnsafe(`UPDATE concert_sales SET tickets = tickets + 100 WHERE concert_id = $1::uuid`, retainedConcert);

      const report = await prisma.$transaction((tx) =>
        rebuildProjections(tx, async () => retained.map((event) => ({ value: JSON.stringify(event) }))),
      );
      // None of them mistaken for one the live consumer has yet to count because its row was pruned.
      expect(report).toEqual({ counted: retained.length, leftToLiveConsumer: 0, passedOver: 0 });
      await expect(concert(retainedConcert)).resolves.toEqual(before);
      expect(before).toMatchObject({ tickets: 8, confirmed: 3 });
      // What the log no longer keeps, a rebuild cannot count: its row and its record went together.
      await expect(concert(expiredConcert)).resolves.toBeUndefined();
      expect((await stats.stats()).signups.total).toBe(2);
    });
  });
});
