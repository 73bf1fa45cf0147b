import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { GetMessage } from 'amqplib';
import { silentLogger } from '@boxoffice/messaging';
import { createTestDatabase, type TestDatabase } from '@boxoffice/testing';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import {
  chargeOrder,
  connect,
  deleteTopology,
  fastRetry,
  rabbitMqUrl,
  testSource,
  toQueue,
  waitFor,
  withChannel,
} from '../test/test-broker.js';
import { RabbitMqTransport } from './rabbitmq.transport.js';

const consumerScript = fileURLToPath(new URL('../test/crashing-consumer.ts', import.meta.url));

/**
 * Runs test/crashing-consumer.ts as a process of its own and starts it again each time it dies,
 * as a supervisor would (Docker's restart policy, systemd), until stopped.
 */
class Supervisor {
  crashes = 0;
  /** Set when the consumer died otherwise than by its own SIGKILL: the test fails with it. */
  failure: Error | null = null;
  private child: ChildProcess | null = null;
  private stopping = false;
  private output = '';

  constructor(private readonly env: Record<string, string>) {}

  start(): void {
    const child = spawn(process.execPath, ['--import', '@swc-node/register/esm-register', consumerScript], {
      env: { ...process.env, ...this.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout!.on('data', (chunk) => (this.output += chunk));
    child.stderr!.on('data', (chunk) => (this.output += chunk));
    child.once('exit', (code, signal) => {
      if (this.stopping) return;
      if (signal !== 'SIGKILL') {
        this.failure = new Error(`the consumer exited with ${code ?? signal}, not by its own SIGKILL:\n${this.output}`);
        return;
      }
      this.crashes += 1;
      this.start();
    });
    this.child = child;
  }

  async stop(): Promise<void> {
    this.stopping = true;
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = once(child, 'exit');
    child.kill('SIGTERM');
    await exited;
  }
}

describe('when one message kills its consumer every time it is handled', () => {
  const source = testSource('crash');
  const deliveryLimit = 2;
  let db: TestDatabase;
  let transport: RabbitMqTransport;
  let supervisor: Supervisor | null = null;

  beforeAll(async () => {
    db = await createTestDatabase('crash', [
      new URL('../../messaging/sql/outbox-inbox.sql', import.meta.url),
      new URL('../../messaging/sql/outbox-parking.sql', import.meta.url),
    ]);
    // No unique key on purpose: an effect that happened twice shows as two rows.
    await db.pool.query('CREATE TABLE effect (message_id uuid NOT NULL)');
    transport = new RabbitMqTransport({
      url: rabbitMqUrl,
      name: 'delivery-limit-spec',
      exchange: source.exchange,
      retryPolicy: fastRetry,
      deliveryLimit,
      logger: silentLogger,
    });
    await transport.connect();
    await transport.provision([source.queue]);
  });

  afterAll(async () => {
    await supervisor?.stop();
    await transport.close();
    const admin = await connect('delivery-limit-cleanup');
    await deleteTopology(admin, source);
    await admin.close();
    await db.drop();
  });

  it('is parked by RabbitMQ at the delivery limit, with the limit as its reason, and every other message takes effect once', async () => {
    // The poison message sits among others in the first batches, so its first crash takes some with it.
    const messages = Array.from({ length: 40 }, () => chargeOrder());
    const poison = messages[5];
    const others = messages.filter((message) => message !== poison);
    await transport.publish(messages.map((envelope) => toQueue(source, envelope)));

    supervisor = new Supervisor({
      CRASH_DATABASE_URL: db.url,
      CRASH_QUEUE: source.queue,
      CRASH_EXCHANGE: source.exchange,
      CRASH_POISON_ID: poison.id,
      CRASH_DELIVERY_LIMIT: String(deliveryLimit),
    });
    supervisor.start();

    const deadLetters = transport.deadLetters([{ channel: source.queue, consumers: ['crashing-consumer'] }]);
    const effects = async () => {
      const { rows } = await db.pool.query<{ message_id: string; n: number }>(
        'SELECT message_id, count(*)::int AS n FROM effect GROUP BY message_id',
      );
      return new Map(rows.map((row) => [row.message_id, row.n]));
    };
    const parked = async () => (await deadLetters.counts()).reduce((sum, { messages }) => sum + messages, 0);
    const { seen } = await waitFor(
      async () => {
        if (supervisor?.failure) throw supervisor.failure;
        const seen = await effects();
        return { seen, taken: seen.size, parked: await parked(), crashes: supervisor?.crashes };
      },
      ({ taken, parked }) => taken === others.length && parked === 1,
      { timeoutMs: 90_000, intervalMs: 250, description: 'every other message to take effect and the poison one to be parked' },
    );
    await supervisor.stop();

    // Handed out once, then `deliveryLimit` times again. Each time it reached a consumer, it killed it;
    // RabbitMQ also counts a return it did not cause (a consumer's connection going down with it
    // still in flight, unhandled), so it may be parked after fewer crashes, never after more.
    expect(supervisor.crashes).toBeGreaterThanOrEqual(1);
    expect(supervisor.crashes).toBeLessThanOrEqual(deliveryLimit + 1);
    expect(others.map(({ id }) => seen.get(id))).toEqual(others.map(() => 1));
    expect(seen.has(poison.id)).toBe(false);
    const letters = await deadLetters.list();
    expect(letters).toHaveLength(1);
    expect(letters[0]).toMatchObject({
      transport: 'rabbitmq',
      id: poison.id,
      originalSource: source.queue,
      attempts: 0,
      lastError: expect.stringMatching(/^delivery_limit: RabbitMQ handed it out from .* more times than the queue's delivery limit/),
    });
    expect(letters[0].lastFailureAt).not.toBeNull();

    // Replayed, it goes back as it first came: RabbitMQ's record of its death stays behind.
    await deadLetters.replay(poison.id);
    const replayed = (await waitFor(
      () => withChannel(transport.connection, (channel) => channel.get(source.queue, { noAck: true })),
      (message) => message !== false,
      { description: 'the replayed message in its work queue' },
    )) as GetMessage;
    expect(replayed.properties.messageId).toBe(poison.id);
    expect(Object.keys(replayed.properties.headers ?? {}).filter((name) => name.includes('death'))).toEqual([]);
  }, 120_000);
});
