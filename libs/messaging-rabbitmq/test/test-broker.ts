// Shared by the integration specs: a connection to the real broker, a queue of their own per
// test, and cleanup. Not part of the library's API.
import type { Channel } from 'amqplib';
import { brokerAddress } from '@boxoffice/config';
import { ChargeOrder, type Envelope } from '@boxoffice/contracts';
import {
  ConsumerPipeline,
  EnvelopeFactory,
  Outcome,
  silentLogger,
  type HandlerOutcome,
  type MessageHandler,
  type OutgoingMessage,
  type RetryPolicy,
  type SqlExecutor,
  type TransactionRunner,
} from '@boxoffice/messaging';
import { uniqueName, waitFor } from '@boxoffice/testing';
import { randomUUID } from 'node:crypto';
import { RabbitMqConnection } from '../src/rabbitmq.connection.js';
import { topologyQueueNames } from '../src/rabbitmq.topology.js';

export { uniqueName, waitFor };

export const rabbitMqUrl = brokerAddress('RABBITMQ_URL');
/** The vhost of rabbitMqUrl, for rabbitmqctl's `-p`. */
export const rabbitMqVhost = decodeURIComponent(new URL(rabbitMqUrl).pathname.slice(1)) || '/';

/** Fast enough for tests: 100, 200, 400, 800 ms between the five attempts. */
export const fastRetry: RetryPolicy = { maxAttempts: 5, initialDelayMs: 100, multiplier: 2, maxDelayMs: 2_000, jitter: 0.2 };

export async function connect(name: string): Promise<RabbitMqConnection> {
  const connection = new RabbitMqConnection({ url: rabbitMqUrl, name, logger: silentLogger, initialDelayMs: 50 });
  await connection.connect();
  return connection;
}

/** A queue and exchange no other spec uses. */
export interface TestSource {
  readonly queue: string;
  readonly exchange: string;
}

export function testSource(prefix: string): TestSource {
  return { queue: uniqueName(`${prefix}.q`), exchange: uniqueName(`${prefix}.x`) };
}

const envelopes = new EnvelopeFactory('checkout');

export function chargeOrder(quantity = 1): Envelope {
  return envelopes.create(ChargeOrder, { orderId: randomUUID(), concertId: randomUUID(), quantity, customerEmail: 'ada@example.com' });
}

export function toQueue(source: TestSource, envelope: Envelope): OutgoingMessage {
  return { envelope, destination: { transport: 'rabbitmq', channel: source.queue, key: envelope.id } };
}

/** A handler that records what it saw and answers as `decide` says (done by default). */
export function recordingHandler(decide: (message: Envelope) => Promise<HandlerOutcome> | HandlerOutcome = () => Outcome.done()) {
  const seen: Envelope[] = [];
  const handler: MessageHandler<unknown, SqlExecutor> = {
    async handle(message) {
      seen.push(message);
      return decide(message);
    },
  };
  return { handler, seen };
}

/** A pipeline for ChargeOrder on the given database, with one handler. */
export function pipelineFor(
  database: TransactionRunner<SqlExecutor>,
  handler: MessageHandler<unknown, SqlExecutor>,
  consumer = 'test-consumer',
) {
  return new ConsumerPipeline<SqlExecutor>({ consumer, handlers: [{ message: ChargeOrder, handler }], database, retryPolicy: fastRetry });
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
