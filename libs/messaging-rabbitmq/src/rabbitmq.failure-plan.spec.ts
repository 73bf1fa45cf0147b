import { describe, expect, it } from '@jest/globals';
import { DeadLetterHeaders as H, type RetryPolicy } from '@boxoffice/messaging';
import { planFailure, type Failure } from './rabbitmq.failure-plan.js';

const policy: RetryPolicy = { maxAttempts: 3, initialDelayMs: 1_000, multiplier: 2, maxDelayMs: 30_000, jitter: 0.2 };
const now = new Date('2026-03-01T10:00:00.000Z');
const later = new Date('2026-03-01T10:00:05.000Z');
const failure: Failure = { queue: 'billing.charge-order', consumer: 'billing', headers: undefined, reason: 'db down', permanent: false };

describe('planning what happens to a failed message', () => {
  describe('after its first failed attempt', () => {
    it('sends it to the first delay queue with a delay drawn from the jitter range', () => {
      const slowest = planFailure(failure, policy, now, () => 0);
      const fastest = planFailure(failure, policy, now, () => 1);
      expect(slowest).toMatchObject({ kind: 'retry', queue: 'billing.charge-order.retry.1', delayMs: 1_000, attempts: 1 });
      expect(fastest).toMatchObject({ kind: 'retry', delayMs: 800 });
    });

    it('records the attempt, the error, when it failed, where it came from and who failed it', () => {
      expect(planFailure(failure, policy, now).headers).toEqual({
        [H.attempts]: 1,
        [H.lastError]: 'db down',
        [H.firstFailureAt]: now.toISOString(),
        [H.lastFailureAt]: now.toISOString(),
        [H.originalSource]: 'billing.charge-order',
        [H.consumer]: 'billing',
      });
    });
  });

  describe('after a later failed attempt', () => {
    const headers = { [H.attempts]: 1, [H.firstFailureAt]: now.toISOString(), traceparent: 't', 'x-death': [{ count: 1 }] };
    const plan = planFailure({ ...failure, headers, reason: 'still down' }, policy, later, () => 0);

    it('moves it to the next delay level with the next backoff', () => {
      expect(plan).toMatchObject({ kind: 'retry', queue: 'billing.charge-order.retry.2', delayMs: 2_000, attempts: 2 });
    });

    it('keeps the first failure time and the message’s own headers, and drops the broker’s x-death history', () => {
      expect(plan.headers).toMatchObject({
        [H.attempts]: 2,
        [H.lastError]: 'still down',
        [H.firstFailureAt]: now.toISOString(),
        [H.lastFailureAt]: later.toISOString(),
        traceparent: 't',
      });
      expect(plan.headers).not.toHaveProperty('x-death');
    });
  });

  it('dead-letters it when its last attempt failed', () => {
    const plan = planFailure({ ...failure, headers: { [H.attempts]: 2 } }, policy, now);
    expect(plan).toMatchObject({ kind: 'dead-letter', queue: 'billing.charge-order.dlq', attempts: 3 });
    expect(plan.headers[H.attempts]).toBe(3);
  });

  it('dead-letters a permanent failure at once, as attempt 1', () => {
    const plan = planFailure({ ...failure, permanent: true, reason: 'poison: invalid payload' }, policy, now);
    expect(plan).toMatchObject({ kind: 'dead-letter', queue: 'billing.charge-order.dlq', attempts: 1 });
    expect(plan.headers[H.lastError]).toBe('poison: invalid payload');
  });

  it('reads an attempts header written as a string by another tool', () => {
    expect(planFailure({ ...failure, headers: { [H.attempts]: '1' } }, policy, now)).toMatchObject({ attempts: 2 });
  });
});
