import type { BackoffSettings } from './backoff.js';

/**
 * How often and how far apart a failing message is tried: the backoff between attempts, and how
 * many attempts before it is dead-lettered.
 */
export interface RetryPolicy extends BackoffSettings {
  /** Total attempts including the first delivery; after the last one the message is dead-lettered. */
  readonly maxAttempts: number;
}

export const defaultRetryPolicy: RetryPolicy = {
  maxAttempts: 5,
  initialDelayMs: 1_000,
  multiplier: 2,
  maxDelayMs: 30_000,
  jitter: 0.2,
};

export function hasAttemptsLeft(policy: RetryPolicy, attemptsSoFar: number): boolean {
  return attemptsSoFar < policy.maxAttempts;
}
