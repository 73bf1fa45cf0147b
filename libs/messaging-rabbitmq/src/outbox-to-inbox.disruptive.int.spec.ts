import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { OutboxPipeline } from '../test/outbox-pipeline.js';
import { chargeOrder, connect, deleteTopology, restartRabbitMq, testSource, waitFor } from '../test/test-broker.js';

// Restarts the RabbitMQ node itself, so `npm test` runs this file alone, after everything else
// (its name ends in .disruptive.int.spec.ts).
describe('when RabbitMQ restarts in the middle of a stream of commands', () => {
  const source = testSource('restart');
  let pipeline: OutboxPipeline;

  beforeAll(async () => {
    pipeline = await OutboxPipeline.create('restart');
  });
  afterAll(async () => {
    await pipeline.stop();
    const connection = await connect('restart-cleanup');
    await deleteTopology(connection, source);
    await connection.close();
    // Deleting quorum queues so soon after a restart can stop RabbitMQ's dead-letter supervisor
    // for good (rabbitmq-server#16652, tools/infra/rabbitmq-repair.ts), which would break every
    // spec after this one: one more restart, with the topology gone, starts it again.
    await restartRabbitMq();
  });

  it('processes every message, each effect once', async () => {
    const connection = await connect('restart');
    await pipeline.start(source);
    const messages = Array.from({ length: 300 }, () => chargeOrder());
    for (let i = 0; i < 300; i += 30) await pipeline.add(messages.slice(i, i + 30), source);

    await waitFor(
      () => pipeline.deliveries,
      (n) => n >= 50,
      { description: 'the stream to be under way' },
    );
    await restartRabbitMq();

    const effects = await waitFor(
      () => pipeline.effects(),
      (seen) => seen.size === 300,
      {
        timeoutMs: 60_000,
        description: 'every message to take effect after the restart',
      },
    );
    expect([...effects.values()].every((n) => n === 1)).toBe(true);
    expect(connection.counters.connectionLosses).toBeGreaterThanOrEqual(1);
    await pipeline.stop();
    await connection.close();
    pipeline = { stop: async () => {} } as unknown as OutboxPipeline;
  });
});
