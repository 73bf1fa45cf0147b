import { describe, expect, it } from '@jest/globals';
import type { Channel, Options } from 'amqplib';
import { defaultRetryPolicy, type RetryPolicy } from '@boxoffice/messaging';
import { TopologyRefused } from './rabbitmq.topology-refused.js';
import { declareQueueTopology, defaultDeliveryLimit, retryLevelFor, retryLevels, topologyQueueNames } from './rabbitmq.topology.js';

describe('retry levels', () => {
  it('gives the default policy one delay queue per retry, each as long as its backoff', () => {
    expect(retryLevels(defaultRetryPolicy)).toEqual([
      { level: 1, maxDelayMs: 1_000 },
      { level: 2, maxDelayMs: 2_000 },
      { level: 3, maxDelayMs: 4_000 },
      { level: 4, maxDelayMs: 8_000 },
    ]);
  });

  describe('when the backoff reaches its cap before the attempts run out', () => {
    const capped: RetryPolicy = { maxAttempts: 10, initialDelayMs: 1_000, multiplier: 2, maxDelayMs: 5_000, jitter: 0.2 };

    it('stops adding queues at the first capped level', () => {
      expect(retryLevels(capped)).toEqual([
        { level: 1, maxDelayMs: 1_000 },
        { level: 2, maxDelayMs: 2_000 },
        { level: 3, maxDelayMs: 4_000 },
        { level: 4, maxDelayMs: 5_000 },
      ]);
    });

    it('sends every later failure to that last level', () => {
      expect(retryLevelFor(capped, 3)).toEqual({ level: 3, maxDelayMs: 4_000 });
      expect(retryLevelFor(capped, 9)).toEqual({ level: 4, maxDelayMs: 5_000 });
    });
  });

  it('has no retry queue for a policy with a single attempt', () => {
    expect(retryLevels({ ...defaultRetryPolicy, maxAttempts: 1 })).toEqual([]);
    expect(topologyQueueNames('q', { ...defaultRetryPolicy, maxAttempts: 1 })).toEqual(['q', 'q.dlq']);
  });

  it('names the work queue, its delay queues and its dead letter queue after the work queue', () => {
    expect(topologyQueueNames('billing.charge-order', { ...defaultRetryPolicy, maxAttempts: 3 })).toEqual([
      'billing.charge-order',
      'billing.charge-order.retry.1',
      'billing.charge-order.retry.2',
      'billing.charge-order.dlq',
    ]);
  });
});

/** A channel that records what is declared on it, and refuses a queue as RabbitMQ would when told to. */
function recordingChannel(refuse?: string) {
  const queues = new Map<string, Options.AssertQueue | undefined>();
  const channel = {
    async assertQueue(queue: string, options?: Options.AssertQueue) {
      if (queue === refuse) {
        const error = new Error(
          `Channel closed by server: 406 (PRECONDITION-FAILED) with message "PRECONDITION_FAILED - inequivalent arg 'x-queue-type' for queue '${queue}'"`,
        );
        throw Object.assign(error, { code: 406 });
      }
      queues.set(queue, options);
      return { queue, messageCount: 0, consumerCount: 0 };
    },
    async assertExchange() {},
    async bindQueue() {},
  } as unknown as Channel;
  return { channel, queues };
}

describe('the queues of a work queue', () => {
  const policy: RetryPolicy = { ...defaultRetryPolicy, maxAttempts: 2 };

  it('make the work queue a quorum queue that parks a message at its delivery limit, at least once', async () => {
    const { channel, queues } = recordingChannel();
    await declareQueueTopology(channel, 'q', 'x', policy, { deliveryLimit: 4 });
    expect(queues.get('q')).toEqual({
      durable: true,
      arguments: {
        'x-queue-type': 'quorum',
        'x-dead-letter-strategy': 'at-least-once',
        'x-overflow': 'reject-publish',
        'x-delivery-limit': 4,
        'x-dead-letter-exchange': '',
        'x-dead-letter-routing-key': 'q.dlq',
      },
    });
  });

  it('make each delay queue a quorum queue that dead-letters back to the work queue at least once', async () => {
    const { channel, queues } = recordingChannel();
    await declareQueueTopology(channel, 'q', 'x', policy);
    expect(queues.get('q.retry.1')).toEqual({
      durable: true,
      arguments: {
        'x-queue-type': 'quorum',
        'x-dead-letter-strategy': 'at-least-once',
        'x-overflow': 'reject-publish',
        'x-message-ttl': 1_000,
        'x-dead-letter-exchange': '',
        'x-dead-letter-routing-key': 'q',
      },
    });
  });

  it('keep the dead letter queue classic, and the delivery limit at its default when none is given', async () => {
    const { channel, queues } = recordingChannel();
    await declareQueueTopology(channel, 'q', 'x', policy);
    expect(queues.get('q.dlq')).toEqual({ durable: true, arguments: { 'x-queue-type': 'classic' } });
    expect(queues.get('q')?.arguments?.['x-delivery-limit']).toBe(defaultDeliveryLimit);
  });

  describe('when a queue of that name exists with other arguments', () => {
    it('refuses with an error that names the queue and says what to do', async () => {
      const { channel } = recordingChannel('q');
      const refused = declareQueueTopology(channel, 'q', 'x', policy);
      await expect(refused).rejects.toBeInstanceOf(TopologyRefused);
      await expect(refused).rejects.toThrow(/queue 'q' as x-queue-type="quorum".*inequivalent arg 'x-queue-type'.*Moving existing queues/s);
    });
  });
});
