// How much FIFO costs on ElasticMQ: N messages published and consumed (acked, no database) on a
// standard queue, and on FIFO queues with many keys and with few. Bounded (N messages, 60 s).
//   node --import @swc-node/register/esm-register libs/messaging-sqs/test/fifo-throughput.ts [messages=2000]
import { defaultRetryPolicy, EnvelopeFactory, type BatchProcessor, type OutgoingMessage } from '@boxoffice/messaging';
import { numberedMessage } from '@boxoffice/messaging-contract';
import { uniqueName, waitFor } from '@boxoffice/testing';
import { SqsTransport } from '../src/sqs.transport.js';
import { sqsEndpoint } from './test-sqs.js';

const Ping = numberedMessage('SqsBenchPing', 'command');
const total = Number(process.argv[2] ?? 2_000);
const envelopes = new EnvelopeFactory('sqs-bench');

async function run(queueType: 'fifo' | 'standard', keys: number): Promise<string> {
  const transport = new SqsTransport({ endpoint: sqsEndpoint, retryPolicy: defaultRetryPolicy, queueType });
  const channel = uniqueName('bench.q');
  await transport.provision([channel]);
  const messages: OutgoingMessage[] = Array.from({ length: total }, (_, seq) => {
    const key = `k${seq % keys}`;
    return { envelope: envelopes.create(Ping, { key, seq }), destination: { transport: 'sqs', channel, key } };
  });
  let published = performance.now();
  for (let i = 0; i < total; i += 500) await transport.publish(messages.slice(i, i + 500));
  published = performance.now() - published;
  let consumed = 0;
  const pipeline: BatchProcessor = {
    async process(_source, batch) {
      consumed += batch.length;
      return batch.map(() => ({ kind: 'ack', as: 'done' }));
    },
  };
  const began = performance.now();
  const consumer = transport.consumer({
    consumer: 'bench',
    channels: [channel],
    pipeline,
    batch: { maxMessages: 50, maxWaitMs: 5 },
    concurrency: 2,
  });
  await consumer.start();
  await waitFor(
    () => consumed,
    (n) => n >= total,
    { description: 'all consumed', timeoutMs: 60_000 },
  );
  const took = performance.now() - began;
  await consumer.stop();
  await transport.queues.remove(channel);
  await transport.close();
  return `${queueType.padEnd(8)} ${String(keys).padStart(5)} keys: publish ${Math.round((total / published) * 1000)}/s, consume ${Math.round((total / took) * 1000)}/s`;
}

for (const [type, keys] of [
  ['standard', 1_000],
  ['fifo', 1_000],
  ['fifo', 10],
  ['fifo', 1],
] as const)
  console.log(await run(type, keys));
