import { describe, expect, it } from '@jest/globals';
import { applyKafkaJsRequestQueueFix, kafkaJsRequestQueueClass, type KafkaJsRequestQueue } from './kafkajs.request-queue.fix.js';

type Queue = KafkaJsRequestQueue & { throttleCheckTimeoutId: NodeJS.Timeout | null; destroy(): void };

function idleQueue(): Queue {
  const logger = { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} };
  const Constructor = kafkaJsRequestQueueClass() as unknown as new (options: object) => Queue;
  return new Constructor({
    maxInFlightRequests: 1,
    requestTimeout: 1_000,
    enforceRequestTimeout: false,
    clientId: 'spec',
    broker: 'b:1',
    logger,
    isConnected: () => true,
  });
}

describe('the kafkajs request queue, once fixed', () => {
  applyKafkaJsRequestQueueFix();

  it('schedules no check when nothing waits and nothing is throttled', () => {
    const queue = idleQueue();
    queue.scheduleCheckPendingRequests();
    expect(queue.throttleCheckTimeoutId).toBeNull();
  });

  it('still schedules a check for a throttled queue, at a positive delay', () => {
    const queue = idleQueue();
    queue.throttledUntil = Date.now() + 50;
    queue.scheduleCheckPendingRequests();
    expect(queue.throttleCheckTimeoutId).not.toBeNull();
    queue.destroy();
  });
});
