import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import {
  chargeOrder,
  connect,
  deleteTopology,
  depth,
  fastRetry,
  recordingHandler,
  send,
  subscription,
  testSource,
  waitFor,
  withChannel,
  type TestSource,
} from '../test/test-broker.js';
import type { RabbitMqConnection } from './rabbitmq.connection.js';
import { RabbitMqConsumer, type DeliveryInfo } from './rabbitmq.consumer.js';
import { RabbitMqPublisher } from './rabbitmq.publisher.js';
import { declareSourceTopology } from './rabbitmq.topology.js';

const repoRoot = fileURLToPath(new URL('../../..', import.meta.url));

/** Starts the stuck consumer in a process of its own, collecting its stdout lines. */
function startStuckConsumer(source: TestSource) {
  const lines: string[] = [];
  const child = spawn(
    process.execPath,
    ['--import', '@swc-node/register/esm-register', 'libs/messaging-rabbitmq/test/stuck-consumer.process.ts'],
    {
      cwd: repoRoot,
      env: { ...process.env, NODE_OPTIONS: '', QUEUE: source.queue, EXCHANGE: source.exchange },
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  let buffered = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    buffered += chunk.toString();
    const complete = buffered.split('\n');
    buffered = complete.pop() ?? '';
    lines.push(...complete);
  });
  return { child, lines };
}

describe('when a consumer process is killed while holding unacked messages', () => {
  const source = testSource('crash');
  let connection: RabbitMqConnection;
  let child: ChildProcess | undefined;
  let survivor: RabbitMqConsumer | undefined;

  beforeAll(async () => {
    connection = await connect('crash-spec');
    await withChannel(connection, (channel) => declareSourceTopology(channel, source, fastRetry));
  });

  afterAll(async () => {
    child?.kill('SIGKILL');
    await survivor?.stop();
    await deleteTopology(connection, source);
    await connection.close();
  });

  it('redelivers every one of them to another consumer, and none is lost', async () => {
    const stuck = startStuckConsumer(source);
    child = stuck.child;
    await waitFor(() => stuck.lines, (lines) => lines.includes('ready'), { description: 'the child consuming' });
    const commands = Array.from({ length: 5 }, () => chargeOrder());
    const publisher = new RabbitMqPublisher(connection);
    await send(publisher, source, commands);
    await publisher.close();
    const handling = (lines: string[]) => lines.filter((l) => l.startsWith('handling ')).map((l) => l.slice('handling '.length));
    await waitFor(() => handling(stuck.lines), (ids) => ids.length === commands.length, { description: 'the child holding all' });
    expect(await depth(connection, source.queue)).toBe(0); // all of them are out, unacked, with the child

    child.kill('SIGKILL');
    await once(child, 'exit');

    const deliveries: DeliveryInfo[] = [];
    const { handler, seen } = recordingHandler();
    survivor = new RabbitMqConsumer(connection, { retryPolicy: fastRetry, onDelivery: (d) => deliveries.push(d) });
    await survivor.start([subscription(source, handler)]);
    await waitFor(() => seen.length, (n) => n === commands.length, { description: 'every message handled by the survivor' });

    expect(seen.map((m) => m.id).sort()).toEqual(handling(stuck.lines).sort());
    expect(seen.map((m) => m.id).sort()).toEqual(commands.map((m) => m.id).sort());
    expect(deliveries.every((d) => d.redelivered)).toBe(true);
    await survivor.stop();
    await expect(depth(connection, source.queue)).resolves.toBe(0);
  });
});
