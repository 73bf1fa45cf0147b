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
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
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

/** How long after a restart the dead-letter supervisor must stay up: it went within a second or so when it did. */
const SUPERVISOR_WATCH_MS = 3_000;

/**
 * Restarts this machine's RabbitMQ node (its rabbit application: `rabbitmqctl stop_app`, then
 * `start_app`) and makes sure it came back whole. Right after a restart RabbitMQ 3.10 can lose the
 * supervisor of its dead-letter workers for good (rabbitmq-server#16652, tools/infra/rabbitmq-repair.ts:
 * a quorum queue deleted while its worker registers, here one a spec before had just deleted):
 * every quorum queue with at-least-once dead-lettering then crashes, and a client declaring one
 * loses its connection, until the next restart. So the supervisor is watched for a few seconds
 * after the restart, and the node restarted again if it went (three restarts at most).
 */
export async function restartRabbitMq(): Promise<void> {
  for (let restarts = 1; ; restarts += 1) {
    execFileSync('rabbitmqctl', ['stop_app'], { stdio: 'ignore' });
    execFileSync('rabbitmqctl', ['start_app'], { stdio: 'ignore' });
    if (await deadLetterSupervisorStaysUp()) return;
    if (restarts === 3) throw new Error('RabbitMQ lost its dead-letter supervisor after each of three restarts (rabbitmq-server#16652)');
  }
}

async function deadLetterSupervisorStaysUp(): Promise<boolean> {
  const until = Date.now() + SUPERVISOR_WATCH_MS;
  while (Date.now() < until) {
    const where = execFileSync('rabbitmqctl', ['-q', 'eval', 'whereis(rabbit_fifo_dlx_sup).'], { encoding: 'utf8' }).trim();
    if (where === 'undefined') return false;
    await delay(200);
  }
  return true;
}
