import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { kafkaAccountOf } from '@boxoffice/config';
import { UserRegistered } from '@boxoffice/contracts';
import {
  ConsumerPipeline,
  EnvelopeFactory,
  Outbox,
  OutboxRelay,
  Outcome,
  PgTransactionRunner,
  silentLogger,
  type SqlExecutor,
  type TransportConsumer,
} from '@boxoffice/messaging';
import { KafkaTopics, KafkaTransport } from '@boxoffice/messaging-kafka';
import { createTestDatabase, uniqueName, waitFor, type TestDatabase } from '@boxoffice/testing';
import { randomUUID } from 'node:crypto';
import { ThrowawayKafka } from './throwaway-kafka.ts';

// The Kafka side of "a broker restart loses nothing": Checkout-like outbox and relay on one
// end, a consumer group with an inbox on the other, and the broker stopped and started again
// while events flow. It runs its own broker (this spec stops it), so it runs alone, after the
// main suite, like the RabbitMQ restart spec.
describe('when the Kafka broker restarts in the middle of a stream of events', () => {
  const topic = uniqueName('restart.users');
  const groupId = uniqueName('restart-group');
  const envelopes = new EnvelopeFactory('checkout');
  const outbox = new Outbox();
  let broker: ThrowawayKafka;
  let db: TestDatabase;
  let runner: PgTransactionRunner;
  let relay: OutboxRelay;
  let transport: KafkaTransport;
  let consumer: TransportConsumer;

  beforeAll(async () => {
    broker = await ThrowawayKafka.start();
    transport = new KafkaTransport({
      brokers: broker.brokers,
      clientId: 'restart-spec',
      account: kafkaAccountOf('restart-spec'),
      consumer: { sessionTimeoutMs: 6_000, heartbeatIntervalMs: 500, maxWaitTimeMs: 100 },
      logger: silentLogger,
    });
    db = await createTestDatabase('kafka_restart', [
      new URL('../../libs/messaging/sql/outbox-inbox.sql', import.meta.url),
      new URL('../../libs/messaging/sql/outbox-parking.sql', import.meta.url),
    ]);
    // No unique key on purpose: an event handled twice would show as a second row.
    await db.pool.query('CREATE TABLE effect (message_id uuid NOT NULL)');
    runner = new PgTransactionRunner(db.pool);
    await new KafkaTopics(transport.kafka).ensure([{ topic, partitions: 3 }]);

    const pipeline = new ConsumerPipeline<SqlExecutor>({
      consumer: groupId,
      database: runner,
      handlers: [
        {
          message: UserRegistered,
          handler: {
            handle: async (message, { tx }) => {
              await tx.$executeRawUnsafe('INSERT INTO effect (message_id) VALUES ($1::uuid)', message.id);
              return Outcome.done();
            },
          },
        },
      ],
    });
    consumer = transport.consumer({
      consumer: groupId,
      channels: [topic],
      pipeline,
      batch: { maxMessages: 50, maxWaitMs: 5 },
      concurrency: 3,
    });
    await consumer.start();
    relay = new OutboxRelay(db.pool, [transport], {
      pollIntervalMs: 200,
      retryInitialDelayMs: 100,
      retryMaxDelayMs: 1_000,
      logger: silentLogger,
    });
    await relay.start();
  }, 120_000);

  afterAll(async () => {
    try {
      await relay?.stop();
      await consumer?.stop();
      await transport?.close().catch(() => {});
      await db?.drop();
    } finally {
      await broker?.destroy();
    }
  }, 120_000);

  /** Sign-ups as Checkout writes them: each event in its own transaction through the outbox. */
  async function signUps(count: number): Promise<string[]> {
    const ids: string[] = [];
    for (let i = 0; i < count; i++) {
      const userId = randomUUID();
      const event = envelopes.create(UserRegistered, {
        userId,
        email: `${userId}@example.com`,
        name: 'Ada',
        ip: '127.0.0.1',
        userAgent: 'restart-spec',
      });
      await runner.$transaction((tx) => outbox.add(tx, event, { transport: 'kafka', channel: topic, key: userId }));
      ids.push(event.id);
    }
    return ids;
  }

  const effects = async () =>
    (await db.pool.query<{ message_id: string; n: number }>('SELECT message_id, count(*)::int AS n FROM effect GROUP BY message_id')).rows;

  it('publishes and processes every event, each effect once', async () => {
    const before = await signUps(100);
    await waitFor(
      async () => (await effects()).length,
      (n) => n >= 30,
      { description: 'the first events to be processed' },
    );

    await broker.stop();
    // Written while there is no broker: accepted all the same, and kept in the outbox.
    const during = await signUps(100);
    expect((await relay.stats()).pending).toBeGreaterThanOrEqual(100);
    await broker.up();
    const after = await signUps(100);

    const all = [...before, ...during, ...after];
    // kafkajs rejoins by itself after most errors; after some (the coordinator still loading
    // when the broker is back) it gives up, and KafkaConsumer joins the group again itself.
    await waitFor(
      async () => (await effects()).length,
      (n) => n === all.length,
      { timeoutMs: 60_000, description: 'all 300 events to be processed' },
    );
    const rows = await effects();
    expect(new Set(rows.map((row) => row.message_id))).toEqual(new Set(all));
    expect(rows.filter((row) => row.n !== 1)).toEqual([]);
    await expect(relay.stats()).resolves.toEqual({ pending: 0, oldestPendingAgeMs: 0, parked: 0, oldestParkedAgeMs: 0 });
    expect(consumer.state).toBe('running');
  }, 150_000);
});
