import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { loadConfig, serviceEnv } from '@boxoffice/config';
import { ChargeOrder, queues, topics, UserRegistered, type Envelope, type MessageDefinition } from '@boxoffice/contracts';
import { deleteNamespace } from '@boxoffice/e2e';
import {
  ConsumerPipeline,
  defaultRetryPolicy,
  EnvelopeFactory,
  Outcome,
  PgTransactionRunner,
  Routing,
  silentLogger,
  type SqlExecutor,
  type Transport,
  type TransportConsumer,
} from '@boxoffice/messaging';
import { brokerSettings, createTransport } from '@boxoffice/platform';
import { createTestDatabase, uniqueName, waitFor, type TestDatabase } from '@boxoffice/testing';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { z } from 'zod';

const run = promisify(execFile);
const envelopes = new EnvelopeFactory('dlq-spec');

// The same tool on the brokers and the stream that came with the other transports (RabbitMQ and
// Kafka are in dlq.int.spec.ts): a poison message really consumed and parked by the pipeline,
// then listed, shown, replayed to where it failed (where it is consumed, and parked, again) and
// purged, each through `npm run dlq` as a person runs it.
const cases = [
  { transport: 'activemq', kind: 'command', transports: { command: 'activemq', event: 'kafka' } },
  { transport: 'sqs', kind: 'command', transports: { command: 'sqs', event: 'kafka' } },
  { transport: 'kinesis', kind: 'event', transports: { command: 'rabbitmq', event: 'kinesis' } },
  { transport: 'nats', kind: 'command', transports: { command: 'nats', event: 'kafka' } },
  { transport: 'nats', kind: 'event', transports: { command: 'rabbitmq', event: 'nats' } },
] as const;

// Each case runs the tool as a user does, a process compiled at start (about 6 s idle), up to four
// times: under the full suite's load that alone has come near Jest's default 60 s.
jest.setTimeout(180_000);

describe.each(cases)('npm run dlq, on $transport ($kind)', ({ transport: name, kind, transports }) => {
  const namespace = uniqueName(`dlq-${name}-${kind}`);
  // The names the tool, given the same namespace, looks under.
  const routing = new Routing({ transports, namespace });
  const message: MessageDefinition = kind === 'command' ? ChargeOrder : UserRegistered;
  const channel = routing.nameOf(kind === 'command' ? queues.chargeOrder : topics.users);
  // Of the users topic's readers, Email's group: the tool looks in every reader's dead letters.
  const group = routing.consumerGroupOf(kind === 'command' ? 'billing' : 'email');
  const brokers = brokerSettings(
    loadConfig(z.object(serviceEnv('dlq-spec', 1)), {
      ...process.env,
      COMMAND_TRANSPORT: transports.command,
      EVENT_TRANSPORT: transports.event,
    }),
  );
  let db: TestDatabase;
  let transport: Transport;
  let consumer: TransportConsumer | null = null;
  let pipeline: ConsumerPipeline<SqlExecutor>;
  let poison: Envelope;

  const dlq = async (...args: string[]): Promise<string> => {
    const { stdout } = await run(process.execPath, ['--import', '@swc-node/register/esm-register', 'tools/dlq/dlq.ts', ...args], {
      env: { ...process.env, BOXOFFICE_NAMESPACE: namespace, COMMAND_TRANSPORT: transports.command, EVENT_TRANSPORT: transports.event },
    });
    return stdout;
  };
  const consume = async () => {
    pipeline = new ConsumerPipeline<SqlExecutor>({
      consumer: group,
      handlers: [{ message, handler: { handle: async () => Outcome.done() } }],
      database: new PgTransactionRunner(db.pool),
      retryPolicy: defaultRetryPolicy,
    });
    consumer = transport.consumer({
      consumer: group,
      channels: [channel],
      pipeline,
      batch: { maxMessages: 10, maxWaitMs: 5 },
      concurrency: 1,
    });
    await consumer.start();
  };
  const stopConsuming = async () => {
    await consumer?.stop();
    consumer = null;
  };

  beforeAll(async () => {
    db = await createTestDatabase(`dlq_${name}_${kind}`, [
      new URL('../../libs/messaging/sql/outbox-inbox.sql', import.meta.url),
      new URL('../../libs/messaging/sql/outbox-parking.sql', import.meta.url),
      new URL('../../libs/messaging/sql/stream-checkpoints.sql', import.meta.url),
    ]);
    transport = createTransport(name, {
      client: 'dlq-spec',
      brokers,
      routing,
      retryPolicy: defaultRetryPolicy,
      logger: silentLogger,
      database: new PgTransactionRunner(db.pool),
    });
    await transport.connect();
    await transport.provision([channel]);
    // A message its consumer cannot read (the payload fails the schema): parked at once.
    const valid =
      kind === 'command'
        ? envelopes.create(ChargeOrder, {
            orderId: crypto.randomUUID(),
            concertId: crypto.randomUUID(),
            quantity: 1,
            customerEmail: 'ada@example.com',
          })
        : envelopes.create(UserRegistered, {
            userId: crypto.randomUUID(),
            email: 'ada@example.com',
            name: 'Ada',
            ip: '127.0.0.1',
            userAgent: 'spec',
          });
    const payload = valid.payload as Record<string, unknown>;
    poison = {
      ...valid,
      payload: kind === 'command' ? { ...payload, customerEmail: 'not-an-email' } : { ...payload, email: 'not-an-email' },
    };
    await transport.publish([{ envelope: poison, destination: { transport: name, channel, key: poison.id } }]);
    await consume();
    await waitFor(
      () => pipeline.counters.deadLettered,
      (n) => n === 1,
      { description: 'the poison message to be dead-lettered' },
    );
    await stopConsuming();
  });
  afterAll(async () => {
    await stopConsuming();
    await transport.close();
    await deleteNamespace(namespace, transports);
    await db.drop();
  });

  it('lists the dead letter with its transport, id, type and the reason', async () => {
    const output = await waitFor(
      () => dlq('list'),
      (text) => text.includes(poison.id),
      { description: 'the dead letter to be listed' },
    );
    expect(output).toMatch(new RegExp(`${name}\\s+\\S+\\s+${poison.id}\\s+${message.type}\\s+1\\s+.*mail`));
  });

  it('shows it in full, the body as it was consumed', async () => {
    const output = await dlq('show', poison.id);
    expect(output).toMatch(new RegExp(`originalSource\\s+\\S*${channel.split('.').at(-1)}`));
    expect(output).toContain('not-an-email');
  });

  it('replays it to where it failed: consumed there again, and parked again, still poison', async () => {
    await expect(dlq('replay', poison.id)).resolves.toContain(`replayed 1 message(s) with id ${poison.id}`);
    await expect(dlq('list')).resolves.toContain('No dead letters');
    await consume();
    await waitFor(
      () => pipeline.counters.deadLettered,
      (n) => n === 1,
      { description: 'the replayed message to be consumed and parked again' },
    );
    await stopConsuming();
    await waitFor(
      () => dlq('list'),
      (text) => text.includes(poison.id),
      { description: 'the dead letter to be listed again' },
    );
  });

  it('refuses an id it does not hold, and purges what is there', async () => {
    await expect(dlq('replay', crypto.randomUUID())).rejects.toMatchObject({ stderr: expect.stringContaining('no dead letter with id') });
    await expect(dlq('purge')).resolves.toContain('purged 1 dead letter(s)');
    await expect(dlq('list')).resolves.toContain('No dead letters');
  });
});
