import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Outcome } from '@boxoffice/messaging';
import {
  chargeOrder,
  connect,
  deleteTopology,
  depth,
  fastRetry,
  recordingHandler,
  send,
  subscription,
  testSource,
  waitFor,
} from '../test/test-broker.js';
import type { RabbitMqConnection } from './rabbitmq.connection.js';
import { RabbitMqConsumer, type DeliveryInfo } from './rabbitmq.consumer.js';
import { RabbitMqDeadLetters } from './rabbitmq.dead-letters.js';
import { RabbitMqPublisher } from './rabbitmq.publisher.js';

describe('RabbitMqDeadLetters', () => {
  const source = testSource('dead-letters');
  const dlq = `${source.queue}.dlq`;
  const first = chargeOrder();
  const second = chargeOrder();
  let connection: RabbitMqConnection;
  let consumer: RabbitMqConsumer;
  let deadLetters: RabbitMqDeadLetters;
  /** The bug that dead-letters everything; "fixing" it makes replayed messages go through. */
  let broken = true;
  const deliveries: DeliveryInfo[] = [];
  const { handler, seen } = recordingHandler(() => (broken ? Outcome.deadLetter('no such concert') : Outcome.done()));

  beforeAll(async () => {
    connection = await connect('dead-letters-spec');
    deadLetters = new RabbitMqDeadLetters(connection);
    consumer = new RabbitMqConsumer(connection, { retryPolicy: fastRetry, onDelivery: (d) => deliveries.push(d) });
    await consumer.start([subscription(source, handler, 'billing-test')]);
    const publisher = new RabbitMqPublisher(connection);
    await send(publisher, source, [first, second]);
    await publisher.close();
    await waitFor(() => depth(connection, dlq), (n) => n === 2, { description: 'both messages dead-lettered' });
  });

  afterAll(async () => {
    await consumer.stop();
    await deleteTopology(connection, source);
    await connection.close();
  });

  it('lists every parked message with why and where it failed, and leaves them parked', async () => {
    const listed = await deadLetters.list(dlq);

    expect(listed).toEqual(
      [first, second].map((m) => ({
        id: m.id,
        type: 'ChargeOrder',
        attempts: 1,
        lastError: 'no such concert',
        body: JSON.stringify(m),
        firstFailureAt: expect.any(String),
        lastFailureAt: expect.any(String),
        originalSource: source.queue,
        consumer: 'billing-test',
      })),
    );
    await expect(deadLetters.list(dlq)).resolves.toEqual(listed);
    await expect(depth(connection, dlq)).resolves.toBe(2);
  });

  it('shows the depth of each queue’s dead letter queue, and none for a queue that has none', async () => {
    await expect(deadLetters.listQueues([source.queue, `${source.queue}.missing`])).resolves.toEqual([
      { queue: source.queue, dlq, messages: 2 },
      { queue: `${source.queue}.missing`, dlq: `${source.queue}.missing.dlq`, messages: null },
    ]);
  });

  it('replays one message to its queue, where the fixed handler processes it with a fresh set of attempts', async () => {
    broken = false;

    await expect(deadLetters.replay(dlq, second.id)).resolves.toBe(1);

    await waitFor(() => consumer.counters.processed, (n) => n === 1, { description: 'the replayed message processed' });
    expect(seen.at(-1)).toEqual(second);
    expect(deliveries.at(-1)).toMatchObject({ messageId: second.id, attempts: 0 });
    const remaining = await deadLetters.list(dlq);
    expect(remaining.map((m) => m.id)).toEqual([first.id]);
  });

  it('purges what is left', async () => {
    await expect(deadLetters.purge(dlq)).resolves.toBe(1);
    await expect(depth(connection, dlq)).resolves.toBe(0);
    expect(consumer.counters.processed).toBe(1);
  });
});
