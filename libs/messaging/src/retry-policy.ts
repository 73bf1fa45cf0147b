/**
 * How often and how far apart a failing message is tried. Exponential backoff with jitter, so a
 * burst of failures does not come back as a synchronised burst of retries.
 * See https://aws.amazon.com/blogs/architecture/exponential-backoff-and-jitter/
 */
export interface RetryPolicy {
  /** Total attempts including the first delivery; after the last one the message is dead-lettered. */
  readonly maxAttempts: number;
  readonly initialDelayMs: number;
  readonly multiplier: number;
  readonly maxDelayMs: number;
  /** 0..1: each delay is drawn from [delay * (1 - jitter), delay]. */
  readonly jitter: number;
}

export const defaultRetryPolicy: RetryPolicy = {
  maxAttempts: 5,
  initialDelayMs: 1_000,
  multiplier: 2,
  maxDelayMs: 30_000,
  jitter: 0.2,
};

/** The nominal delay before attempt `attempt + 1`, after `attempt` failed attempts (1-based). */
export function nominalDelayMs(policy: RetryPolicy, attempt: number): number {
  return Math.min(policy.maxDelayMs, policy.initialDelayMs * policy.multiplier ** (attempt - 1));
}

export function delayWithJitterMs(policy: RetryPolicy, attempt: number, random: () => number = Math.random): number {
  const nominal = nominalDelayMs(policy, attempt);
  return Math.round(nominal * (1 - policy.jitter * random()));
}

export function hasAttemptsLeft(policy: RetryPolicy, attemptsSoFar: number): boolean {
  return attemptsSoFar < policy.maxAttempts;
}
