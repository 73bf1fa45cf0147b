import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { Message } from 'amqplib';
import { PublishIncomplete } from '@boxoffice/messaging';
import { chargeOrder, connect, deleteTopology, fastRetry, testSource, toQueue, withChannel } from '../test/test-broker.js';
import type { RabbitMqConnection } from './rabbitmq.connection.js';
import { RabbitMqPublisher } from './rabbitmq.publisher.js';
import { declareQueueTopology } from './rabbitmq.topology.js';

describe('RabbitMqPublisher', () => {
  let connection: RabbitMqConnection;
  let publisher: RabbitMqPublisher;
  const source = testSource('publisher');

  beforeAll(async () => {
    connection = await connect('publisher-spec');
    publisher = new RabbitMqPublisher(connection, { exchange: source.exchange });
    await withChannel(connection, (channel) => declareQueueTopology(channel, source.queue, source.exchange, fastRetry));
  });

  afterAll(async () => {
    await publisher.close();
    await deleteTopology(connection, source);
    await connection.close();
  });

  it('delivers a confirmed batch in order, each message carrying the envelope’s identity and the extra headers', async () => {
    const batch = Array.from({ length: 50 }, () => chargeOrder());

    await publisher.publish(
      batch.map((envelope) => ({
        ...toQueue(source, envelope),
        headers: { 'x-replayed-by': 'spec' },
      })),
    );

    const received = await withChannel(connection, async (channel) => {
      const messages: Message[] = [];
      for (;;) {
        const message = await channel.get(source.queue, { noAck: true });
        if (!message) return messages;
        messages.push(message);
      }
    });
    expect(received.map((m) => JSON.parse(m.content.toString()))).toEqual(batch);
    expect(received[0].properties).toMatchObject({
      messageId: batch[0].id,
      type: 'ChargeOrder',
      correlationId: batch[0].correlationId,
      contentType: 'application/json',
      deliveryMode: 2,
      headers: { 'x-replayed-by': 'spec' },
    });
  });

  describe('when no queue is bound to the routing key', () => {
    it('rejects, so the outbox keeps the message instead of RabbitMQ dropping it', async () => {
      await expect(publisher.publish([toQueue({ ...source, queue: `${source.queue}.nobody` }, chargeOrder())])).rejects.toThrow(
        /unroutable/,
      );
    });

    it('still publishes the next batch', async () => {
      await expect(publisher.publish([toQueue(source, chargeOrder())])).resolves.toBeUndefined();
    });

    it('names that message as refused and its neighbours as taken, so the outbox publishes them once', async () => {
      const [before, lost, after] = [chargeOrder(), chargeOrder(), chargeOrder()];
      await withChannel(connection, (channel) => channel.purgeQueue(source.queue)); // what the tests before left
      const error = await publisher
        .publish([toQueue(source, before), toQueue({ ...source, queue: `${source.queue}.nobody` }, lost), toQueue(source, after)])
        .catch((rejected: unknown) => rejected);
      expect(error).toBeInstanceOf(PublishIncomplete);
      expect([...(error as PublishIncomplete).failed]).toEqual([[1, { reason: expect.stringMatching(/unroutable/), refused: true }]]);
      const received = await withChannel(connection, async (channel) => {
        const ids: string[] = [];
        for (
          let message = await channel.get(source.queue, { noAck: true });
          message;
          message = await channel.get(source.queue, { noAck: true })
        )
          ids.push(message.properties.messageId as string);
        return ids;
      });
      expect(received).toEqual([before.id, after.id]);
    });
  });

  describe('when the destination is not RabbitMQ', () => {
    it('rejects the batch', async () => {
      await expect(
        publisher.publish([{ envelope: chargeOrder(), destination: { transport: 'kafka', channel: 't', key: 'k' } }]),
      ).rejects.toThrow(/cannot publish to kafka:t/);
    });
  });
});
