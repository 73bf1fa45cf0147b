// A consumer process whose handler never finishes, for the crash spec: it takes deliveries and
// holds them unacked until it is killed. It says "ready" once consuming and "handling <id>" as
// each handler starts, on stdout. Run with QUEUE and EXCHANGE set.
import type { HandlerOutcome } from '@boxoffice/messaging';
import { connect, fastRetry, subscription } from './test-broker.js';
import { RabbitMqConsumer } from '../src/rabbitmq.consumer.js';

const queue = process.env.QUEUE ?? '';
const exchange = process.env.EXCHANGE ?? '';
const connection = await connect('stuck-consumer');
const consumer = new RabbitMqConsumer(connection, { retryPolicy: fastRetry, prefetch: 10, concurrency: 10 });
await consumer.start([
  subscription({ transport: 'rabbitmq', queue, bindings: [{ exchange, routingKey: queue }] }, {
    handle(message): Promise<HandlerOutcome> {
      process.stdout.write(`handling ${message.id}\n`);
      return new Promise(() => {}); // never settles: the message stays unacked
    },
  }),
]);
process.stdout.write('ready\n');
