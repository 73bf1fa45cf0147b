// `npm run bench:transports`: the transports side by side, on the same workload, in one run.
//
// For each of RabbitMQ, ActiveMQ Artemis, SQS and NATS JetStream (commands: a work queue) and
// Kafka, Kinesis and NATS JetStream (events: a log), against its real server on this machine
// (brought up first, as `npm run infra:up` does; one that cannot be says so and the bench stops):
//   1. Burst: BENCH_MESSAGES (default 10000) messages written to an outbox as services would, then
//      the outbox relay publishes them through the transport while one consumer (the one
//      ConsumerPipeline, two lanes, batches of 100) takes them into an inbox. msgs/s is the number
//      over the time from the relay's start to the last one consumed; CPU per message is what
//      this process, PostgreSQL and the broker spent meanwhile (/proc), over the messages.
//   2. Steady: BENCH_STEADY_RATE (default 200) messages a second for BENCH_STEADY_SECONDS
//      (default 10), each written to the outbox in its own small transaction; end-to-end latency
//      is from the envelope's creation (the outbox write) to its handler, p50 and p99.
// Then the ticket sale's drain on each command transport: Checkout and Billing as processes, a
// spike of BENCH_DRAIN_ORDERS (default 3000) purchases, Billing capped at BENCH_DRAIN_RATE
// (default 500/s, as k6/params.json), and the drain rate measured from Billing's charges.
//
// The last line printed is one JSON object with every figure. Run it alone: it measures CPU.
import { ChargeOrder, queues, topics, UserRegistered, type Envelope, type MessageDefinition } from '@boxoffice/contracts';
import { deleteNamespace, TestSystem } from '@boxoffice/e2e';
import {
  ConsumerPipeline,
  defaultRetryPolicy,
  EnvelopeFactory,
  Outbox,
  OutboxRelay,
  Outcome,
  PgTransactionRunner,
  Routing,
  silentLogger,
  type MessageHandler,
  type SqlExecutor,
  type Transport,
  type TransportName,
} from '@boxoffice/messaging';
import { brokerSettings, createTransport, type BrokerSettings } from '@boxoffice/platform';
import { commandTransports, eventTransports, loadConfig, serviceEnv } from '@boxoffice/config';
import { createTestDatabase, uniqueName, waitFor, type TestDatabase } from '@boxoffice/testing';
import { randomUUID } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import pg from 'pg';
import { z } from 'zod';
import { ensureBenchServers } from './bench.servers.ts';
import { fire } from './autocannon.load.ts';
import { cpuBetween, cpuSnapshot } from './process.cpu.ts';

const count = Number(process.env.BENCH_MESSAGES ?? 10_000);
const steadyRate = Number(process.env.BENCH_STEADY_RATE ?? 200);
const steadySeconds = Number(process.env.BENCH_STEADY_SECONDS ?? 10);
const drainOrders = Number(process.env.BENCH_DRAIN_ORDERS ?? 3_000);
const drainRate = Number(process.env.BENCH_DRAIN_RATE ?? 500);
const only = process.env.BENCH_TRANSPORTS?.split(',').map((name) => name.trim());

const brokers = brokerSettings(loadConfig(z.object(serviceEnv('bench-transports', 1))));
const envelopes = new EnvelopeFactory('bench');
const log = (line = '') => console.log(line);
const round = (n: number, digits = 0) => Number(n.toFixed(digits));

interface TransportFigures {
  readonly transport: string;
  readonly kind: 'command' | 'event';
  readonly msgsPerSecond: number;
  readonly cpuMsPerMessage: number;
  readonly cpuByRole: Record<string, number>;
  readonly steady: { readonly rate: number; readonly p50Ms: number; readonly p99Ms: number; readonly received: number };
}

const messageOf = (kind: 'command' | 'event'): MessageDefinition => (kind === 'command' ? ChargeOrder : UserRegistered);
function envelopeOf(kind: 'command' | 'event'): Envelope {
  if (kind === 'command')
    return envelopes.create(ChargeOrder, { orderId: randomUUID(), concertId: randomUUID(), quantity: 1, customerEmail: 'ada@example.com' });
  const userId = randomUUID();
  return envelopes.create(UserRegistered, { userId, email: `${userId}@example.com`, name: 'Ada', ip: '127.0.0.1', userAgent: 'bench' });
}
const keyOf = (envelope: Envelope) =>
  (envelope.payload as { orderId?: string; userId?: string }).orderId ?? (envelope.payload as { userId: string }).userId;

async function measure(
  name: TransportName,
  kind: 'command' | 'event',
  label: string = name,
  settings: BrokerSettings = brokers,
): Promise<TransportFigures> {
  // The catalog's own channel names under a namespace of the bench's, so deleteNamespace removes
  // everything the transport made for them.
  const namespace = uniqueName(`bench-${name}`);
  const routing = new Routing({ transports: { command: name, event: name }, namespace });
  const channel = routing.nameOf(kind === 'command' ? queues.chargeOrder : topics.users);
  const db: TestDatabase = await createTestDatabase(`bench_transports_${name}`, [
    new URL('../../libs/messaging/sql/outbox-inbox.sql', import.meta.url),
    new URL('../../libs/messaging/sql/outbox-parking.sql', import.meta.url),
    new URL('../../libs/messaging/sql/outbox-notify-transport.sql', import.meta.url),
    new URL('../../libs/messaging/sql/outbox-upkeep.sql', import.meta.url),
    new URL('../../libs/messaging/sql/stream-checkpoints.sql', import.meta.url),
  ]);
  const database = new PgTransactionRunner(db.pool);
  const transport: Transport = createTransport(name, {
    client: 'bench-transports',
    brokers: settings,
    routing,
    retryPolicy: defaultRetryPolicy,
    logger: silentLogger,
    database,
  });
  await transport.connect();
  await transport.provision([channel]);

  let received = 0;
  let latencies: number[] = [];
  const handler: MessageHandler<unknown, SqlExecutor> = {
    async handle(message) {
      received += 1;
      latencies.push(Date.now() - Date.parse(message.occurredAt));
      return Outcome.done();
    },
  };
  const pipeline = new ConsumerPipeline<SqlExecutor>({
    consumer: routing.consumerGroupOf('bench'),
    handlers: [{ message: messageOf(kind), handler }],
    database,
    retryPolicy: defaultRetryPolicy,
  });
  const consumer = transport.consumer({
    consumer: pipeline.consumer,
    channels: [channel],
    pipeline,
    batch: { maxMessages: 100, maxWaitMs: 5 },
    concurrency: 2,
  });
  const relay = new OutboxRelay(db.pool, [transport], { batchSize: 500 });
  const write = async (batch: Envelope[]) => {
    const rows = batch.map((envelope) => Outbox.row(envelope, { transport: name, channel, key: keyOf(envelope) }));
    await db.pool.query(Outbox.insertRowsFrom('SELECT jsonb_array_elements($1::jsonb) AS outbox_row'), [JSON.stringify(rows)]);
  };

  try {
    await consumer.start();
    // Warm-up: first connections, JIT, the consumer's first fetch.
    await write(Array.from({ length: 200 }, () => envelopeOf(kind)));
    await relay.start();
    await waitFor(
      () => received,
      (n) => n >= 200,
      { timeoutMs: 60_000, description: `${name}: the warm-up to be consumed` },
    );
    await relay.stop();

    // 1. Burst.
    received = 0;
    for (let i = 0; i < count; i += 1_000) await write(Array.from({ length: Math.min(1_000, count - i) }, () => envelopeOf(kind)));
    const cpuBefore = cpuSnapshot(new Map([[process.pid, 'bench (client)']]));
    const started = performance.now();
    await relay.start();
    await waitFor(
      () => received,
      (n) => n >= count,
      { timeoutMs: 600_000, intervalMs: 20, description: `${name}: ${count} messages to be consumed` },
    );
    const seconds = (performance.now() - started) / 1000;
    if (process.env.BENCH_DEBUG) log(`  ${name}: ${JSON.stringify(pipeline.counters)} in ${seconds.toFixed(1)} s`);
    const cpu = cpuBetween(cpuBefore, cpuSnapshot(new Map([[process.pid, 'bench (client)']])));
    const cpuTotal = Object.values(cpu).reduce((sum, ms) => sum + ms, 0);
    // Only this transport's broker, the database and the client: the other brokers sit idle.
    const cpuByRole = Object.fromEntries(Object.entries(cpu).filter(([role]) => [name, 'postgresql', 'bench (client)'].includes(role)));
    const cpuCounted = Object.values(cpuByRole).reduce((sum, ms) => sum + ms, 0);

    // 2. Steady: small transactions at a fixed rate, latency from the outbox write to the handler.
    received = 0;
    latencies = [];
    const perTick = Math.max(1, Math.round(steadyRate / 50));
    const ticks = Math.round((steadyRate * steadySeconds) / perTick);
    const tickMs = (perTick / steadyRate) * 1000;
    const steadyStart = performance.now();
    for (let tick = 0; tick < ticks; tick += 1) {
      await write(Array.from({ length: perTick }, () => envelopeOf(kind)));
      const due = steadyStart + (tick + 1) * tickMs;
      const wait = due - performance.now();
      if (wait > 0) await delay(wait);
    }
    await waitFor(
      () => received,
      (n) => n >= ticks * perTick,
      { timeoutMs: 120_000, description: `${name}: the steady messages to be consumed` },
    );
    const sorted = [...latencies].sort((a, b) => a - b);
    const at = (p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];

    const figures: TransportFigures = {
      transport: label,
      kind,
      msgsPerSecond: round(count / seconds),
      cpuMsPerMessage: round(cpuCounted / count, 3),
      cpuByRole: Object.fromEntries(Object.entries(cpuByRole).map(([role, ms]) => [role, round(ms)])),
      steady: { rate: steadyRate, p50Ms: at(50), p99Ms: at(99), received: sorted.length },
    };
    log(
      `${label.padEnd(13)} ${kind.padEnd(8)} ${String(figures.msgsPerSecond).padStart(7)} msg/s  ` +
        `p50 ${String(figures.steady.p50Ms).padStart(4)} ms  p99 ${String(figures.steady.p99Ms).padStart(5)} ms  ` +
        `CPU ${figures.cpuMsPerMessage.toFixed(3)} ms/msg (${Object.entries(figures.cpuByRole)
          .map(([role, ms]) => `${role} ${ms}`)
          .join(', ')}; all processes ${round(cpuTotal)} ms)`,
    );
    return figures;
  } finally {
    await relay.stop().catch(() => {});
    await consumer.stop().catch(() => {});
    await deleteNamespace(namespace, routing.transports).catch((error: unknown) =>
      log(`  (${name}: could not delete ${channel}: ${String(error)})`),
    );
    await transport.close().catch(() => {});
    await db.drop();
  }
}

/** The ticket sale's drain through one command transport: Checkout and Billing as processes. */
async function ticketSaleDrain(
  command: TransportName,
  label: string = command,
  env: Record<string, string> = {},
): Promise<{ transport: string; drainPerSecond: number; configured: number; settled: number }> {
  const system = new TestSystem({ COMMAND_TRANSPORT: command, EVENT_TRANSPORT: 'kafka', ...env });
  try {
    const [checkout] = await Promise.all([
      system.start('checkout'),
      system.start('billing', { BILLING_MAX_RATE: String(drainRate), PAYMENT_DECLINE_RATE: '0', PAYMENT_LATENCY_MS: '1' }),
    ]);
    const billingDb = new pg.Pool({ connectionString: system.databaseUrl('billing'), max: 1 });
    try {
      const concert = await fetch(`${checkout.url}/concerts`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-admin-key': 'local-admin-key' },
        body: JSON.stringify({
          name: `Drain on ${command}`,
          startsAt: '2027-06-01T20:00:00Z',
          capacity: drainOrders * 2,
          priceCents: 4_500,
        }),
      });
      if (concert.status !== 201) throw new Error(`POST /concerts answered ${concert.status}: ${await concert.text()}`);
      const { id: concertId } = (await concert.json()) as { id: string };
      // Billing hears of the concert as an event; a charge before that would wait for a retry.
      await waitFor(
        () => billingDb.query('SELECT 1 FROM seat_inventory WHERE concert_id = $1', [concertId]),
        (r) => r.rowCount === 1,
        {
          timeoutMs: 60_000,
          description: 'Billing to hear of the concert',
        },
      );
      await fire({
        url: `${checkout.url}/orders`,
        body: { concertId, quantity: 1, customerEmail: 'buyer@example.com' },
        connections: 20,
        amount: drainOrders,
        acceptedStatus: 202,
      });
      const charges = await waitFor(
        async () =>
          (
            await billingDb.query<{ n: number; first: Date; last: Date }>(
              'SELECT count(*)::int AS n, min(created_at) AS first, max(created_at) AS last FROM charge',
            )
          ).rows[0],
        (row) => row.n >= drainOrders,
        { timeoutMs: 300_000, intervalMs: 200, description: `Billing to charge ${drainOrders} orders through ${command}` },
      );
      const drainPerSecond = round(charges.n / Math.max(0.001, (charges.last.getTime() - charges.first.getTime()) / 1000));
      log(
        `${label.padEnd(13)} ticket-sale drain ${String(drainPerSecond).padStart(5)}/s of ${drainRate}/s configured (${charges.n} charges)`,
      );
      return { transport: label, drainPerSecond, configured: drainRate, settled: charges.n };
    } finally {
      await billingDb.end();
    }
  } finally {
    await system.teardown();
  }
}

const chosen = (names: ReadonlyArray<TransportName>) => names.filter((name) => !only || only.includes(name));
await ensureBenchServers('bench:transports', [...chosen(commandTransports), ...chosen(eventTransports)]);
log(
  `bench:transports - ${count} messages a burst, then ${steadyRate}/s for ${steadySeconds} s; the ticket-sale drain of ${drainOrders} orders at ${drainRate}/s\n`,
);
log("transport     kind       burst          steady latency          CPU per message (this transport's broker, PostgreSQL, the client)");
const results: TransportFigures[] = [];
for (const name of chosen(commandTransports)) {
  results.push(await measure(name, 'command'));
  // SQS's two kinds of queue: FIFO (the default, per-key order) and standard (no order).
  if (name === 'sqs') results.push(await measure(name, 'command', 'sqs standard', { ...brokers, sqsQueueType: 'standard' }));
}
for (const name of chosen(eventTransports)) results.push(await measure(name, 'event'));
log('');
const drains = [];
for (const name of chosen(commandTransports)) {
  drains.push(await ticketSaleDrain(name));
  if (name === 'sqs') drains.push(await ticketSaleDrain(name, 'sqs standard', { SQS_QUEUE_TYPE: 'standard' }));
}
log(JSON.stringify({ messages: count, steadyRate, steadySeconds, transports: results, ticketSaleDrain: drains }));
