import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { ChargeOrder } from '@boxoffice/contracts';
import { DeadLetterHeaders as H, Outcome, type Subscription } from '@boxoffice/messaging';
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
  type TestSource,
  waitFor,
  withChannel,
} from '../test/test-broker.js';
import type { RabbitMqConnection } from './rabbitmq.connection.js';
import { RabbitMqConsumer, type DeliveryInfo } from './rabbitmq.consumer.js';
import { RabbitMqPublisher } from './rabbitmq.publisher.js';

describe('RabbitMqConsumer', () => {
  let connection: RabbitMqConnection;
  let publisher: RabbitMqPublisher;
  let consumer: RabbitMqConsumer;
  let deliveries: DeliveryInfo[];
  const sources: Array<TestSource> = [];

  beforeAll(async () => {
    connection = await connect('consumer-spec');
    publisher = new RabbitMqPublisher(connection);
  });

  afterEach(() => consumer.stop());

  afterAll(async () => {
    await publisher.close();
    for (const source of sources) await deleteTopology(connection, source);
    await connection.close();
  });

  async function consume(subscriptions: (source: TestSource) => Subscription[]) {
    const source = testSource('consumer');
    sources.push(source);
    deliveries = [];
    const onDelivery = (delivery: DeliveryInfo) => void deliveries.push(delivery);
    consumer = new RabbitMqConsumer(connection, { retryPolicy: fastRetry, prefetch: 10, concurrency: 5, onDelivery });
    await consumer.start(subscriptions(source));
    return source;
  }

  describe('when a command is published with a publisher confirm', () => {
    it('hands it to the handler once and acks it', async () => {
      const { handler, seen } = recordingHandler();
      const source = await consume((s) => [subscription(s, handler)]);
      const command = chargeOrder();

      await send(publisher, source, [command]);

      await waitFor(() => consumer.counters.processed, (n) => n === 1, { description: 'the command processed' });
      await consumer.stop(); // an unacked message would now be back in the queue
      expect(seen.map((m) => m.id)).toEqual([command.id]);
      expect(seen[0]).toEqual(command);
      await expect(depth(connection, source.queue)).resolves.toBe(0);
    });
  });

  describe('when the handler fails twice and then succeeds', () => {
    it('processes the message once more after each backoff, carrying two failed attempts', async () => {
      const { handler, seen } = recordingHandler((_, call) => (call <= 2 ? Outcome.retry(`not yet (${call})`) : Outcome.done()));
      const source = await consume((s) => [subscription(s, handler)]);
      const command = chargeOrder();

      const startedAt = Date.now();
      await send(publisher, source, [command]);
      await waitFor(() => consumer.counters.processed, (n) => n === 1, { description: 'the command processed' });
      const elapsed = Date.now() - startedAt;

      expect(seen).toHaveLength(3);
      expect(consumer.counters).toMatchObject({ processed: 1, retried: 2, deadLettered: 0 });
      // The shortest the two backoffs can be: each delay is at least nominal * (1 - jitter).
      const minimumBackoff = (fastRetry.initialDelayMs + fastRetry.initialDelayMs * fastRetry.multiplier) * (1 - fastRetry.jitter);
      expect(elapsed).toBeGreaterThanOrEqual(minimumBackoff);
      expect(deliveries.map((d) => d.attempts)).toEqual([0, 1, 2]);
      await consumer.stop();
      await expect(depth(connection, source.queue)).resolves.toBe(0);
    });
  });

  describe('when the handler always fails for one message', () => {
    it('parks it in the dead letter queue after five attempts with its reason, while the messages behind it flow', async () => {
      const poisonous = chargeOrder(6);
      const healthy = [chargeOrder(), chargeOrder(), chargeOrder()];
      const handledAt = new Map<string, number>();
      const { handler } = recordingHandler((message) => {
        if (message.id === poisonous.id) throw new Error('card processor says no');
        handledAt.set(message.id, Date.now());
        return Outcome.done();
      });
      const source = await consume((s) => [subscription(s, handler, 'billing-test')]);

      await send(publisher, source, [poisonous, ...healthy]);

      await waitFor(() => depth(connection, `${source.queue}.dlq`), (n) => n === 1, { description: 'the message dead-lettered' });
      const deadLetteredAt = Date.now();
      const parked = await withChannel(connection, (channel) => channel.get(`${source.queue}.dlq`, { noAck: true }));
      if (!parked) throw new Error('dead letter queue is empty');
      expect(parked.properties.messageId).toBe(poisonous.id);
      expect(JSON.parse(parked.content.toString())).toEqual(poisonous);
      expect(parked.properties.headers).toMatchObject({
        [H.attempts]: 5,
        [H.lastError]: 'card processor says no',
        [H.originalSource]: source.queue,
        [H.consumer]: 'billing-test',
      });
      const headers = parked.properties.headers ?? {};
      expect(Date.parse(headers[H.lastFailureAt])).toBeGreaterThan(Date.parse(headers[H.firstFailureAt]));
      expect(deliveries.filter((d) => d.messageId === poisonous.id)).toHaveLength(5);
      // Every healthy message was done long before the failing one ran out of attempts.
      expect([...handledAt.keys()].sort()).toEqual(healthy.map((m) => m.id).sort());
      for (const at of handledAt.values()) expect(at).toBeLessThan(deadLetteredAt - 500);
      expect(consumer.counters).toMatchObject({ processed: 3, retried: 4, deadLettered: 1 });
    });
  });

  describe('when a message does not match its contract', () => {
    it('dead-letters it at once, naming the invalid field, without calling the handler', async () => {
      const { handler, seen } = recordingHandler();
      const source = await consume((s) => [subscription(s, handler)]);
      const valid = chargeOrder();
      const invalid = { ...valid, payload: { ...(valid.payload as object), quantity: 99 } };

      await send(publisher, source, [invalid]);

      await waitFor(() => depth(connection, `${source.queue}.dlq`), (n) => n === 1, { description: 'the message dead-lettered' });
      const parked = await withChannel(connection, (channel) => channel.get(`${source.queue}.dlq`, { noAck: true }));
      expect(parked && parked.properties.headers).toMatchObject({ [H.attempts]: 1 });
      expect(parked && parked.properties.headers?.[H.lastError]).toMatch(/^poison: invalid ChargeOrder v1 payload: quantity: /);
      expect(seen).toEqual([]);
      expect(consumer.counters).toMatchObject({ processed: 0, retried: 0, deadLettered: 1 });
    });
  });

  describe('when the broker already has a queue of that name with other arguments', () => {
    it('fails to start, naming the mismatch, rather than consume with the wrong retry delays', async () => {
      const { handler } = recordingHandler();
      const source = testSource('consumer');
      sources.push(source);
      const otherDelay = { durable: true, arguments: { 'x-message-ttl': 999 } };
      await withChannel(connection, (channel) => channel.assertQueue(`${source.queue}.retry.1`, otherDelay));
      consumer = new RabbitMqConsumer(connection, { retryPolicy: fastRetry });

      await expect(consumer.start([subscription(source, handler)])).rejects.toThrow(/PRECONDITION_FAILED/);
      expect(connection.isConnected).toBe(true);
    });
  });

  describe('when two subscriptions name the same queue', () => {
    it('refuses to start', async () => {
      const { handler } = recordingHandler();
      await expect(consume((s) => [subscription(s, handler), { ...subscription(s, handler), messages: [ChargeOrder] }])).rejects.toThrow(
        /more than one subscription consumes/,
      );
    });
  });
});
