import { describe, expect, it } from '@jest/globals';
import { deadLetterQueueNameOf, queueNameOf } from './sqs.queues.js';

describe('queue names', () => {
  it('turns the dots of a channel into underscores and keeps dashes, with .fifo on a FIFO queue', () => {
    expect(queueNameOf('billing.charge-order', 'fifo')).toBe('billing_charge-order.fifo');
    expect(queueNameOf('billing.charge-order', 'standard')).toBe('billing_charge-order');
  });

  it('puts the dead letter queue beside it, FIFO like its queue', () => {
    expect(deadLetterQueueNameOf('billing.charge-order', 'fifo')).toBe('billing_charge-order-dlq.fifo');
    expect(deadLetterQueueNameOf('billing.charge-order', 'standard')).toBe('billing_charge-order-dlq');
  });

  it('replaces every character SQS refuses', () => {
    expect(queueNameOf('e2e ns/billing:charge+order', 'standard')).toBe('e2e_ns_billing_charge_order');
  });

  describe('when a channel name is too long for SQS', () => {
    const long = `boxoffice.${'very-long-namespace.'.repeat(6)}billing.charge-order`;

    it('keeps both names within 80 characters, ending in a hash of the whole name', () => {
      const queue = queueNameOf(long, 'fifo');
      const dlq = deadLetterQueueNameOf(long, 'fifo');
      expect(dlq.length).toBeLessThanOrEqual(80);
      expect(queue).toMatch(/^boxoffice_very-long-namespace_.*-[0-9a-f]{8}\.fifo$/);
      expect(dlq).toBe(queue.replace(/\.fifo$/, '-dlq.fifo'));
    });

    it('tells two long names apart that share their beginning', () => {
      expect(queueNameOf(`${long}.a`, 'fifo')).not.toBe(queueNameOf(`${long}.b`, 'fifo'));
    });
  });
});
