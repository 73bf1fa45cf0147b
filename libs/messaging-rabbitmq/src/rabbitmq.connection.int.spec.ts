import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { ChannelModel } from 'amqplib';
import type { Socket } from 'node:net';
import { silentLogger } from '@boxoffice/messaging';
import { setTimeout as delay } from 'node:timers/promises';
import { createTestDatabase, type TestDatabase } from '@boxoffice/testing';
import { PgTransactionRunner, type TransportConsumer } from '@boxoffice/messaging';
import {
  chargeOrder,
  connect,
  deleteTopology,
  depth,
  fastRetry,
  pipelineFor,
  recordingHandler,
  testSource,
  toQueue,
  waitFor,
} from '../test/test-broker.js';
import { RabbitMqConnection } from './rabbitmq.connection.js';
import { RabbitMqConsumer } from './rabbitmq.consumer.js';
import { RabbitMqPublisher } from './rabbitmq.publisher.js';

/** What a network failure looks like to the client: the socket errors, mid-stream. */
function cutNetwork(model: ChannelModel): void {
  (model.connection as unknown as { stream: Socket }).stream.destroy(new Error('simulated network failure'));
}

describe('RabbitMqConnection', () => {
  describe('when the consumer’s connection is lost mid-stream', () => {
    const source = testSource('reconnect');
    let admin: RabbitMqConnection;
    let consumerConnection: RabbitMqConnection;
    let consumer: TransportConsumer;
    let db: TestDatabase;

    beforeAll(async () => {
      admin = await connect('reconnect-spec-publisher');
      consumerConnection = await connect('reconnect-spec-consumer');
      db = await createTestDatabase('reconnect', [
        new URL('../../messaging/sql/outbox-inbox.sql', import.meta.url),
        new URL('../../messaging/sql/outbox-parking.sql', import.meta.url),
      ]);
    });

    afterAll(async () => {
      await consumer.stop();
      await db.drop();
      await consumerConnection.close();
      await deleteTopology(admin, source);
      await admin.close();
    });

    it('reconnects by itself, consumes again, and every message is handled', async () => {
      const models: ChannelModel[] = [];
      await consumerConnection.onConnect(async (model) => void models.push(model));
      const { handler, seen } = recordingHandler(async () => {
        await delay(5); // slow enough that the cut lands while messages are in flight
        return { kind: 'done' };
      });
      const pipeline = pipelineFor(new PgTransactionRunner(db.pool), handler);
      consumer = new RabbitMqConsumer(
        consumerConnection,
        { consumer: 'reconnect', channels: [source.queue], pipeline, batch: { maxMessages: 5, maxWaitMs: 5 }, concurrency: 3 },
        { exchange: source.exchange, retryPolicy: fastRetry },
      );
      await consumer.start();
      const publisher = new RabbitMqPublisher(admin, { exchange: source.exchange });
      const commands = Array.from({ length: 60 }, () => chargeOrder());
      await publisher.publish(commands.map((command) => toQueue(source, command)));
      await publisher.close();

      await waitFor(
        () => seen.length,
        (n) => n >= 10,
        { description: '10 messages handled' },
      );
      cutNetwork(models[0]);

      await waitFor(
        () => new Set(seen.map((m) => m.id)).size,
        (n) => n === commands.length,
        { description: 'every message handled' },
      );
      // Messages flow on the first lane's new channel while the other lanes are still being set up,
      // so the connection may count as connected only after the last message: wait for it.
      await waitFor(() => consumerConnection.counters.connectionLosses > 0 && consumerConnection.isConnected, Boolean, {
        description: 'the reconnect, every setup run',
      });
      expect(models).toHaveLength(2);
      expect(consumerConnection.counters).toEqual({ connects: 2, connectionLosses: 1 });
      expect(consumerConnection.isConnected).toBe(true);
      await consumer.stop();
      await expect(depth(admin, source.queue)).resolves.toBe(0);
    });
  });

  describe('when the broker cannot be reached', () => {
    it('keeps retrying until closed, and then gives up', async () => {
      const warnings: string[] = [];
      const logger = { ...silentLogger, warn: (message: string) => void warnings.push(message) };
      const connection = new RabbitMqConnection({ url: 'amqp://guest:guest@127.0.0.1:1', name: 'nowhere', logger, initialDelayMs: 10 });

      const connecting = connection.connect();
      await waitFor(
        () => warnings.length,
        (n) => n >= 3,
        { description: 'three failed attempts' },
      );
      await connection.close();

      await expect(connecting).rejects.toThrow(/closed/);
      expect(warnings[0]).toMatch(/connecting failed .*; retrying in \d+ ms/);
    });
  });
});
