import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { silentLogger } from '@boxoffice/messaging';
import { deleteTopology, fastRetry, rabbitMqUrl, testSource, withChannel } from '../test/test-broker.js';
import { TopologyRefused } from './rabbitmq.topology-refused.js';
import { RabbitMqTransport } from './rabbitmq.transport.js';

// A broker that ran an older boxoffice has its work queues as classic queues, and RabbitMQ cannot
// turn a queue into a quorum queue in place.
describe('when a work queue exists as a classic queue', () => {
  const source = testSource('classic-left');
  let transport: RabbitMqTransport;

  beforeAll(async () => {
    transport = new RabbitMqTransport({
      url: rabbitMqUrl,
      name: 'topology-spec',
      exchange: source.exchange,
      retryPolicy: fastRetry,
      logger: silentLogger,
    });
    await transport.connect();
    await withChannel(transport.connection, (channel) =>
      channel.assertQueue(source.queue, { durable: true, arguments: { 'x-queue-type': 'classic' } }),
    );
  });

  afterAll(async () => {
    await deleteTopology(transport.connection, source);
    await transport.close();
  });

  it('refuses to provision it, naming the queue and the way out, and leaves it as it was', async () => {
    const provisioning = transport.provision([source.queue]);
    await expect(provisioning).rejects.toBeInstanceOf(TopologyRefused);
    await expect(provisioning).rejects.toThrow(
      new RegExp(
        `queue '${source.queue.replace(/\./g, '\\.')}' as x-queue-type="quorum".*PRECONDITION_FAILED - inequivalent arg.*Moving existing queues`,
        's',
      ),
    );
    expect(await withChannel(transport.connection, (channel) => channel.checkQueue(source.queue))).toMatchObject({ queue: source.queue });
  });

  it('keeps a consumer of it from starting', async () => {
    const consumer = transport.consumer({
      consumer: 'topology-spec',
      channels: [source.queue],
      pipeline: { process: async () => [] },
      batch: { maxMessages: 10, maxWaitMs: 5 },
      concurrency: 1,
    });
    await expect(consumer.start()).rejects.toBeInstanceOf(TopologyRefused);
    expect(consumer.state).toBe('stopped');
  });
});
