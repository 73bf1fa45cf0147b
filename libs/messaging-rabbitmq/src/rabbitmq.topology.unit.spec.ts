import { describe, expect, it } from '@jest/globals';
import { defaultRetryPolicy, type RetryPolicy } from '@boxoffice/messaging';
import { retryLevelFor, retryLevels, topologyQueueNames } from './rabbitmq.topology.js';

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
