import { describe, expect, it } from '@jest/globals';
import { kafkaJsRequestQueueClass, type KafkaJsRequestQueue } from './kafkajs.request-queue.fix.js';
import { testKafka } from './testing/kafka.fixtures.js';

type Queue = KafkaJsRequestQueue & { throttleCheckTimeoutId: NodeJS.Timeout | null };

describe('a client built by createKafkaClient', () => {
  it('leaves its idle broker connections without a pending-request timer (no 1 ms poll, no TimeoutNegativeWarning)', async () => {
    const kafka = testKafka('request-queue-fix-spec');
    // Watch the very class kafkajs uses: a check that leaves a timer behind is the bug.
    const prototype = kafkaJsRequestQueueClass().prototype as Queue;
    const scheduleCheck = prototype.scheduleCheckPendingRequests;
    let checks = 0;
    let timersLeft = 0;
    prototype.scheduleCheckPendingRequests = function (this: Queue) {
      scheduleCheck.call(this);
      checks += 1;
      if (this.throttleCheckTimeoutId && this.pending.length === 0) timersLeft += 1;
    };
    const admin = kafka.admin();
    try {
      await admin.connect();
      await admin.listTopics();
    } finally {
      await admin.disconnect();
      prototype.scheduleCheckPendingRequests = scheduleCheck;
    }
    expect(checks).toBeGreaterThan(0);
    expect(timersLeft).toBe(0);
  });
});
