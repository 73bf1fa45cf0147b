import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { ChargeOrder } from '@boxoffice/contracts';
import {
  ConsumerPipeline,
  Outcome,
  PgTransactionRunner,
  silentLogger,
  type RetryPolicy,
  type SqlExecutor,
  type TransportConsumer,
} from '@boxoffice/messaging';
import { createTestDatabase, uniqueName, type TestDatabase } from '@boxoffice/testing';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { chargeOrder, depth, rabbitMqUrl, rabbitMqVhost, testSource, toQueue, waitFor, withChannel } from '../test/test-broker.js';
import { retryQueueName } from './rabbitmq.topology.js';
import { RabbitMqTransport } from './rabbitmq.transport.js';

const run = promisify(execFile);

/** What RabbitMQ counts in a queue: every message it holds, and those ready for a consumer. */
async function held(queue: string): Promise<{ messages: number; ready: number } | null> {
  const { stdout } = await run('rabbitmqctl', [
    'list_queues',
    '-p',
    rabbitMqVhost,
    '--quiet',
    '--no-table-headers',
    'name',
    'messages',
    'messages_ready',
  ]);
  const row = stdout
    .split('\n')
    .map((line) => line.split('\t'))
    .find(([name]) => name === queue);
  return row ? { messages: Number(row[1]), ready: Number(row[2]) } : null;
}

// The hop a retry makes: the consumer confirms a copy into the delay queue and acks the original;
// when the delay runs out, RabbitMQ dead-letters the copy back to the work queue. That second
// step is the broker's alone, and at most once (RabbitMQ's default) a copy it cannot deliver
// there is dropped without a word.
describe('when a retry comes due while its work queue is gone', () => {
  const source = testSource('retry-hop');
  // One retry, long enough to take the work queue away before it is due.
  const policy: RetryPolicy = { maxAttempts: 2, initialDelayMs: 5_000, multiplier: 2, maxDelayMs: 5_000, jitter: 0 };
  const retryQueue = retryQueueName(source.queue, 1);
  const nudge = uniqueName('retry-hop-nudge');
  let db: TestDatabase;
  let transport: RabbitMqTransport;
  let consumer: TransportConsumer | null = null;

  beforeAll(async () => {
    db = await createTestDatabase('retry_hop', [
      new URL('../../messaging/sql/outbox-inbox.sql', import.meta.url),
      new URL('../../messaging/sql/outbox-parking.sql', import.meta.url),
    ]);
    await db.pool.query('CREATE TABLE effect (message_id uuid NOT NULL)');
    transport = new RabbitMqTransport({
      url: rabbitMqUrl,
      name: 'retry-hop-spec',
      exchange: source.exchange,
      retryPolicy: policy,
      reconnectInitialDelayMs: 50,
      logger: silentLogger,
    });
    await transport.connect();
    await transport.provision([source.queue]);
  });

  afterAll(async () => {
    await consumer?.stop();
    await run('rabbitmqctl', ['clear_policy', '-p', rabbitMqVhost, nudge]).catch(() => {});
    await transport.deprovision([source.queue]);
    await transport.close();
    await db.drop();
  });

  it('holds the retry in its delay queue, and delivers it once the queue is back', async () => {
    let attempts = 0;
    const pipeline = new ConsumerPipeline<SqlExecutor>({
      consumer: 'retry-hop',
      database: new PgTransactionRunner(db.pool),
      retryPolicy: policy,
      handlers: [
        {
          message: ChargeOrder,
          handler: {
            async handle(message, context) {
              attempts += 1;
              if (attempts === 1) return Outcome.retry('not yet');
              await context.tx.$executeRawUnsafe('INSERT INTO effect (message_id) VALUES ($1::uuid)', message.id);
              return Outcome.done();
            },
          },
        },
      ],
    });
    const consume = async () => {
      consumer = transport.consumer({
        consumer: 'retry-hop',
        channels: [source.queue],
        pipeline,
        batch: { maxMessages: 10, maxWaitMs: 5 },
        concurrency: 1,
      });
      await consumer.start();
    };
    const message = chargeOrder();
    await consume();
    await transport.publish([toQueue(source, message)]);

    // The first attempt failed: its copy waits out its delay, and the original was acked.
    await waitFor(
      () => depth(transport.connection, retryQueue),
      (n) => n === 1,
      { description: 'the retry to wait in its delay queue' },
    );
    await consumer!.stop();
    // Deleted here; on a cluster, a work queue that has lost the majority of its nodes cannot take it either.
    await withChannel(transport.connection, (channel) => channel.deleteQueue(source.queue));

    // Its delay runs out with nowhere to go: it is no longer ready in the delay queue, but still held there.
    await waitFor(
      () => held(retryQueue),
      (counts) => counts?.messages === 1 && counts.ready === 0,
      { timeoutMs: 20_000, intervalMs: 250, description: 'the expired retry to be held in its delay queue' },
    );

    await transport.provision([source.queue]);
    // RabbitMQ tries a dead letter it could not deliver again every
    // dead_letter_worker_publisher_confirm_timeout (3 minutes by default); a change of policy on
    // the delay queue makes it look up the route at once, which keeps this test short.
    await run('rabbitmqctl', [
      'set_policy',
      '-p',
      rabbitMqVhost,
      '--apply-to',
      'queues',
      nudge,
      `^${retryQueue.replace(/[.*+?^${}()|[\]\\-]/g, '\\$&')}$`,
      '{"max-length-bytes":1073741824}',
    ]);
    await consume();

    const { rows } = await waitFor(
      () => db.pool.query<{ message_id: string }>('SELECT message_id FROM effect'),
      ({ rows }) => rows.length > 0,
      { timeoutMs: 20_000, description: 'the retried message to take effect' },
    );
    expect(rows.map((row) => row.message_id)).toEqual([message.id]);
    expect(attempts).toBe(2);
    // Only now, with the copy confirmed by the work queue, does the delay queue let it go.
    await waitFor(
      () => held(retryQueue),
      (counts) => counts?.messages === 0,
      { intervalMs: 250, description: 'the delay queue to be empty' },
    );
  }, 60_000);
});
