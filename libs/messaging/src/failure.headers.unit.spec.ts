import { describe, expect, it } from '@jest/globals';
import {
  FailureHeaders,
  readFailure,
  readOrigin,
  recordFailure,
  withDeliveryAttempts,
  withFailure,
  withoutFailure,
} from './failure.headers.js';

describe('the failure headers', () => {
  const first = recordFailure({}, 'first', new Date('2026-01-01T00:00:00Z'));
  const second = recordFailure(first, 'card service down', new Date('2026-01-01T00:00:05Z'));
  const origin = { source: 'boxoffice.orders', consumer: 'billing' };

  it('count the attempts and keep when the failures began', () => {
    expect(second).toEqual({
      attempts: 2,
      lastError: 'card service down',
      firstFailureAt: '2026-01-01T00:00:00.000Z',
      lastFailureAt: '2026-01-01T00:00:05.000Z',
    });
  });

  it('are written on top of the original headers and read back as the record and origin they were written from', () => {
    const headers = withFailure({ traceparent: 't', [FailureHeaders.attempts]: '1' }, second, origin);
    expect(headers.traceparent).toBe('t');
    expect(readFailure(headers)).toEqual(second);
    expect(readOrigin(headers)).toEqual(origin);
  });

  it('read as no failure on a message that never failed', () => {
    expect(readFailure({ 'message-id': 'x', [FailureHeaders.attempts]: 'zero' })).toEqual({});
  });

  it('are all dropped for a replay, with whatever a transport adds, and the rest kept', () => {
    const headers = { ...withFailure({ traceparent: 't' }, second, origin), 'x-original-offset': '9' };
    expect(withoutFailure(headers, ['x-original-offset'])).toEqual({ traceparent: 't' });
  });

  it('keep a long error message short', () => {
    expect(recordFailure({}, 'x'.repeat(5_000), new Date()).lastError).toHaveLength(1_000);
  });

  it('count a redelivered message’s attempts from the broker’s deliveries, whatever it carried', () => {
    const carried = { traceparent: 't', [FailureHeaders.attempts]: '7' };
    expect(withDeliveryAttempts(carried, 2)).toEqual({ traceparent: 't', [FailureHeaders.attempts]: '2' });
    expect(withDeliveryAttempts(carried, 0)).toEqual({ traceparent: 't' });
  });
});
