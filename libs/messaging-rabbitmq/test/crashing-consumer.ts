// A consumer in a process of its own, for rabbitmq.delivery-limit.int.spec.ts: ChargeOrder through
// the pipeline into a test database, as a service would, except that it dies (SIGKILL: nothing
// settled, nothing closed) the moment its handler sees the poison message. The spec restarts it
// after each death, as a supervisor would. Started with
// `node --import @swc-node/register/esm-register`, configured by its environment.
import { Outcome, PgTransactionRunner } from '@boxoffice/messaging';
import pg from 'pg';
import { RabbitMqTransport } from '../src/rabbitmq.transport.js';
import { fastRetry, pipelineFor, rabbitMqUrl } from './test-broker.js';

const env = (name: string): string => {
  const value = process.env[name];
  if (!value) throw new Error(`crashing-consumer: ${name} is not set`);
  return value;
};

const pool = new pg.Pool({ connectionString: env('CRASH_DATABASE_URL'), max: 4 });
const transport = new RabbitMqTransport({
  url: rabbitMqUrl,
  name: 'crashing-consumer',
  exchange: env('CRASH_EXCHANGE'),
  retryPolicy: fastRetry,
  deliveryLimit: Number(env('CRASH_DELIVERY_LIMIT')),
  reconnectInitialDelayMs: 50,
});
const poisonId = env('CRASH_POISON_ID');

const pipeline = pipelineFor(new PgTransactionRunner(pool), {
  async handle(message, context) {
    if (message.id === poisonId) process.kill(process.pid, 'SIGKILL');
    await context.tx.$executeRawUnsafe('INSERT INTO effect (message_id) VALUES ($1::uuid)', message.id);
    return Outcome.done();
  },
});

await transport.connect();
const consumer = transport.consumer({
  consumer: 'crashing-consumer',
  channels: [env('CRASH_QUEUE')],
  pipeline,
  batch: { maxMessages: 10, maxWaitMs: 5 },
  concurrency: 2,
});
await consumer.start();

process.once('SIGTERM', () => {
  void (async () => {
    await consumer.stop();
    await transport.close();
    await pool.end();
    process.exit(0);
  })();
});
