import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { loadConfig, serviceEnv } from '@boxoffice/config';
import { ChargeOrder, queues, topics } from '@boxoffice/contracts';
import {
  EnvelopeFactory,
  MessageSender,
  Outbox,
  Outcome,
  PgTransactionRunner,
  Routing,
  silentLogger,
  type Destination,
} from '@boxoffice/messaging';
import { createTestDatabase, TcpFaultProxy, uniqueName, waitFor, type TestDatabase } from '@boxoffice/testing';
import { brokerSettings } from './broker.settings.js';
import { createTransports, MessagingRuntime } from './messaging.runtime.js';

// Checkout's messaging on the real RabbitMQ, with its Kafka behind a proxy that resets every
// connection: Kafka down at boot, RabbitMQ up.
describe('when one broker is down as a service starts', () => {
  const namespace = uniqueName('relay-start');
  const routing = new Routing({ transports: { command: 'rabbitmq', event: 'kafka' }, namespace });
  const kafkaDown = new TcpFaultProxy({ host: '127.0.0.1', port: 9 });
  let db: TestDatabase;
  let runtime: MessagingRuntime;

  beforeAll(async () => {
    kafkaDown.set('reset');
    const kafkaPort = await kafkaDown.start();
    db = await createTestDatabase('relay_start', [
      new URL('../../messaging/sql/outbox-inbox.sql', import.meta.url),
      new URL('../../messaging/sql/outbox-parking.sql', import.meta.url),
    ]);
    const brokers = brokerSettings(
      loadConfig(z.object(serviceEnv('relay-start-spec', 1)), {
        ...process.env,
        COMMAND_TRANSPORT: 'rabbitmq',
        EVENT_TRANSPORT: 'kafka',
        KAFKA_BROKERS: `127.0.0.1:${kafkaPort}`,
        BOXOFFICE_NAMESPACE: namespace,
      }),
    );
    const database = new PgTransactionRunner(db.pool);
    // Handlers that do nothing, for what Checkout consumes: none of it arrives while Kafka is down.
    const handlers = routing
      .sourcesOf('checkout')
      .flatMap((source) => source.messages)
      .map((message) => ({ message, handler: { handle: async () => Outcome.done() } }));
    // Billing's queue, declared as Billing declares it when it starts: Checkout only sends to it.
    const billingSide = createTransports(['rabbitmq'], { client: 'relay-start-spec', brokers, routing, logger: silentLogger }).get(
      'rabbitmq',
    )!;
    await billingSide.connect();
    await billingSide.provision([routing.nameOf(queues.chargeOrder)]);
    await billingSide.close();
    runtime = new MessagingRuntime({
      service: 'checkout',
      databaseUrl: db.url,
      brokers,
      handlers,
      database,
      sender: new MessageSender(new EnvelopeFactory('checkout'), routing),
      routing,
      logger: silentLogger,
    });
  });
  afterAll(async () => {
    const rabbitmq = runtime.transports.get('rabbitmq')!;
    await rabbitmq.deprovision(routing.channelsOn('rabbitmq').map(({ channel }) => channel)).catch(() => {});
    await runtime.stop();
    await kafkaDown.stop();
    await db.drop();
  });

  it("publishes the commands to the broker that is up, and keeps the other's messages pending", async () => {
    runtime.start();
    const envelopes = new EnvelopeFactory('checkout');
    const order = () =>
      envelopes.create(ChargeOrder, { orderId: randomUUID(), concertId: randomUUID(), quantity: 1, customerEmail: 'ada@example.com' });
    const [command, event] = [order(), order()];
    const toQueue: Destination = { transport: 'rabbitmq', channel: routing.nameOf(queues.chargeOrder), key: command.payload.orderId };
    // Only a row for Kafka's topic: what it carries does not matter while Kafka is away.
    const toTopic: Destination = { transport: 'kafka', channel: routing.nameOf(topics.orders), key: event.payload.orderId };
    await new PgTransactionRunner(db.pool).$transaction(async (tx) => {
      await new Outbox().addMany(tx, [
        { envelope: event, destination: toTopic },
        { envelope: command, destination: toQueue },
      ]);
    });
    const statusOf = async (id: string) =>
      (await db.pool.query<{ status: string }>(`SELECT status FROM outbox_message WHERE envelope->>'id' = $1`, [id])).rows[0]?.status;

    await waitFor(
      () => statusOf(command.id),
      (status) => status === 'published',
      { timeoutMs: 30_000, description: 'the ChargeOrder published to RabbitMQ while Kafka is down' },
    );
    expect(runtime.isUp('rabbitmq')).toBe(true);
    expect(runtime.isUp('kafka')).toBe(false);
    expect(runtime.relay.publishing).toEqual(['rabbitmq']);
    expect(runtime.relayRunning).toBe(false); // not to every transport yet
    await expect(statusOf(event.id)).resolves.toBe('pending');
  });
});
