import { setTimeout as delay } from 'node:timers/promises';
import { Backoff, type BackoffSettings } from '../backoff.js';

export interface TransientRetryOptions {
  /** The errors that pass by themselves (a topic not known everywhere yet, a throttled write); any other is thrown at once. */
  readonly transient: (error: unknown) => boolean;
  readonly backoff: BackoffSettings;
  /** Tries no later than this; the wait that would pass it is not waited, the last error is thrown instead. */
  readonly timeoutMs?: number;
  /** Tries at most this many times in all. */
  readonly attempts?: number;
}

/**
 * Tries a step again after a backoff while it fails with a transient error, within a budget of
 * time or of tries; then throws its last error. For a step whose caller needs it done or failed
 * (creating a topic, waiting for a stream to be ACTIVE, a write the broker refused in part),
 * where `untilStopped` is for steps tried until the transport stops.
 */
export async function retryTransient<T>(step: () => Promise<T>, options: TransientRetryOptions): Promise<T> {
  const deadline = options.timeoutMs === undefined ? Infinity : Date.now() + options.timeoutMs;
  const backoff = new Backoff(options.backoff);
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await step();
    } catch (error) {
      const wait = backoff.next();
      if (!options.transient(error) || attempt >= (options.attempts ?? Infinity) || Date.now() + wait > deadline) throw error;
      await delay(wait);
    }
  }
}
