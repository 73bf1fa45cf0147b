import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Outbox, OutboxRelay, Outcome, PgTransactionRunner, type MessageHandler, type SqlExecutor } from '@boxoffice/messaging';
import { createTestDatabase, uniqueName, waitFor, type TestDatabase } from '@boxoffice/testing';
import { KafkaPublisher } from './kafka.publisher.js';
import { deadLetterTopicOf, KafkaTopics } from './kafka.topics.js';
import { deleteGroups, testConsumer, testEvent, testKafka, type TestPayload } from './testing/kafka.fixtures.js';
import type { KafkaConsumer } from './kafka.consumer.js';
import type { Envelope } from '@boxoffice/contracts';

describe('events from the outbox, through Kafka, to a consumer group', () => {
  const kafka = testKafka('outbox-to-consumer');
  const topic = uniqueName('outbox_order');
  const groupId = uniqueName('outbox_order_group');
  const keys = Array.from({ length: 10 }, (_, i) => `key-${i}`);
  const seen = new Map<string, number[]>();
  const handler: MessageHandler<TestPayload, SqlExecutor> = {
    async handle(message: Envelope<TestPayload>) {
      seen.set(message.payload.key, [...(seen.get(message.payload.key) ?? []), message.payload.seq]);
      return Outcome.done();
    },
  };
  let consumer: KafkaConsumer;
  const publishers = [new KafkaPublisher(kafka), new KafkaPublisher(kafka)];
  let db: TestDatabase;
  let relays: OutboxRelay[];

  beforeAll(async () => {
    db = await createTestDatabase('outbox_kafka', [
      new URL('../../messaging/sql/outbox-inbox.sql', import.meta.url),
      new URL('../../messaging/sql/outbox-parking.sql', import.meta.url),
    ]);
    await new KafkaTopics(kafka).ensure([{ topic, partitions: 3 }]);
    ({ consumer } = testConsumer(kafka, db, groupId, topic, handler));
    await consumer.start();
    // Two relays share the outbox, in small batches, so that each key's messages are spread
    // over many batches and both relays.
    relays = publishers.map(
      (publisher) =>
        new OutboxRelay(db.pool, [{ name: 'kafka', publish: (batch) => publisher.publish(batch) }], { batchSize: 7, pollIntervalMs: 100 }),
    );
    await Promise.all(relays.map((relay) => relay.start()));
  });
  afterAll(async () => {
    await Promise.all(relays.map((relay) => relay.stop()));
    await consumer.stop();
    await Promise.all(publishers.map((publisher) => publisher.disconnect()));
    await new KafkaTopics(kafka).delete([topic, deadLetterTopicOf(topic, groupId)]);
    await deleteGroups(kafka, [groupId]);
    await db.drop();
  });

  it('delivers each key’s events in the order they were committed', async () => {
    const outbox = new Outbox();
    const runner = new PgTransactionRunner(db.pool);
    for (let seq = 0; seq < 20; seq++) {
      await runner.$transaction(async (tx: SqlExecutor) => {
        for (const key of keys) {
          const { envelope, destination } = testEvent(topic, key, seq);
          await outbox.add(tx, envelope, destination);
        }
      });
    }

    await waitFor(
      () => [...seen.values()].reduce((n, seqs) => n + seqs.length, 0),
      (n) => n >= 200,
      {
        description: 'all 200 events consumed',
      },
    );
    for (const key of keys) expect(seen.get(key)).toEqual(Array.from({ length: 20 }, (_, seq) => seq));
  });
});
