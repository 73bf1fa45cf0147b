import { describe, expect, it } from '@jest/globals';
import { Backoff, delayWithJitterMs, nominalDelayMs } from './backoff.js';
import { hasAttemptsLeft, type RetryPolicy } from './retry-policy.js';

const policy: RetryPolicy = { maxAttempts: 5, initialDelayMs: 1_000, multiplier: 2, maxDelayMs: 5_000, jitter: 0.2 };

describe('the retry policy', () => {
  it('doubles the delay after each failed attempt, up to the maximum', () => {
    expect([1, 2, 3, 4, 5].map((attempt) => nominalDelayMs(policy, attempt))).toEqual([1_000, 2_000, 4_000, 5_000, 5_000]);
  });

  it('draws each delay from the jitter band below the nominal delay', () => {
    expect(delayWithJitterMs(policy, 2, () => 0)).toBe(2_000);
    expect(delayWithJitterMs(policy, 2, () => 1)).toBe(1_600);
  });

  it('allows retries until the attempts are used up', () => {
    expect(hasAttemptsLeft(policy, 4)).toBe(true);
    expect(hasAttemptsLeft(policy, 5)).toBe(false);
  });

  it('counts a run of failures with Backoff, and starts over after a success', () => {
    const backoff = new Backoff(policy, () => 0);
    expect([backoff.next(), backoff.next(), backoff.next()]).toEqual([1_000, 2_000, 4_000]);
    backoff.reset();
    expect(backoff.next()).toBe(1_000);
  });
});
