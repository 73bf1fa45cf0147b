// Shared by the integration specs: a connection to the real broker, a source of their own per
// test, and cleanup. Not part of the library's API.
import type { Channel } from 'amqplib';
import { ChargeOrder, type Envelope } from '@boxoffice/contracts';
import {
  EnvelopeFactory,
  Outcome,
  silentLogger,
  type HandlerOutcome,
  type MessageHandler,
  type RabbitMqSource,
  type RetryPolicy,
  type Subscription,
} from '@boxoffice/messaging';
import { uniqueName, waitFor } from '@boxoffice/testing';
import { randomUUID } from 'node:crypto';
import { RabbitMqConnection } from '../src/rabbitmq.connection.js';
import { RabbitMqPublisher } from '../src/rabbitmq.publisher.js';
import { topologyQueueNames } from '../src/rabbitmq.topology.js';

export { uniqueName, waitFor };

export const rabbitMqUrl = process.env.RABBITMQ_URL ?? 'amqp://guest:guest@127.0.0.1:5672';

/** Fast enough for tests: 100, 200, 400, 800 ms between the five attempts. */
export const fastRetry: RetryPolicy = { maxAttempts: 5, initialDelayMs: 100, multiplier: 2, maxDelayMs: 2_000, jitter: 0.2 };

export async function connect(name: string): Promise<RabbitMqConnection> {
  const connection = new RabbitMqConnection({ url: rabbitMqUrl, name, logger: silentLogger, initialDelayMs: 50 });
  await connection.connect();
  return connection;
}

export type TestSource = RabbitMqSource & { readonly exchange: string };

/** A queue and exchange no other spec uses. */
export function testSource(prefix: string): TestSource {
  const queue = uniqueName(`${prefix}.q`);
  const exchange = uniqueName(`${prefix}.x`);
  return { transport: 'rabbitmq', queue, exchange, bindings: [{ exchange, routingKey: queue }] };
}

const envelopes = new EnvelopeFactory('checkout');

export function chargeOrder(quantity = 1): Envelope {
  return envelopes.create(ChargeOrder, {
    orderId: randomUUID(),
    concertId: randomUUID(),
    quantity,
    customerEmail: 'ada@example.com',
  });
}

export function send(publisher: RabbitMqPublisher, source: TestSource, messages: Envelope[]): Promise<void> {
  const destination = { transport: 'rabbitmq', exchange: source.exchange, routingKey: source.queue } as const;
  return publisher.publish(messages.map((envelope) => ({ envelope, destination })));
}

/** A handler that records what it saw and answers as `decide` says (done by default). */
export function recordingHandler(
  decide: (message: Envelope, call: number) => Promise<HandlerOutcome> | HandlerOutcome = () => Outcome.done(),
) {
  const seen: Envelope[] = [];
  const handler: MessageHandler = {
    async handle(message) {
      seen.push(message);
      return decide(message, seen.filter((m) => m.id === message.id).length);
    },
  };
  return { handler, seen };
}

export function subscription(source: RabbitMqSource, handler: MessageHandler, consumer = 'test-consumer'): Subscription {
  return { consumer, source, messages: [ChargeOrder], handler };
}

/** Ready messages in a queue; unacked ones are not counted. */
export async function depth(connection: RabbitMqConnection, queue: string): Promise<number> {
  return withChannel(connection, async (channel) => (await channel.checkQueue(queue)).messageCount);
}

export async function withChannel<T>(connection: RabbitMqConnection, work: (channel: Channel) => Promise<T>): Promise<T> {
  const channel = await connection.createChannel();
  channel.on('error', () => {});
  try {
    return await work(channel);
  } finally {
    await channel.close().catch(() => {});
  }
}

export async function deleteTopology(connection: RabbitMqConnection, source: TestSource, policy: RetryPolicy = fastRetry) {
  await withChannel(connection, async (channel) => {
    for (const queue of topologyQueueNames(source.queue, policy)) await channel.deleteQueue(queue);
    await channel.deleteExchange(source.exchange);
  });
}
