import type { RateLimiter } from './rate-limiter.js';
import { pause } from './runtime/stoppable.js';

/** How often an instance looks at how many instances share the rate. */
const SHARE_INTERVAL_MS = 2_000;

export interface RateShareOptions {
  /** This instance's limiter: its rate becomes this instance's share. */
  readonly limiter: RateLimiter;
  /** The rate for the whole service, however many instances run. */
  readonly totalRate: number;
  /** How many instances run now (RabbitMQ's consumer count on the work queue over this instance's lanes, say). */
  readonly instances: () => Promise<number>;
  /** Stops the sharing: the wait between looks ends at once. */
  readonly signal: AbortSignal;
  readonly intervalMs?: number;
  /** Waits `ms` unless `signal` aborts first; false if it did (a test passes its own). */
  readonly wait?: (ms: number, signal: AbortSignal) => Promise<boolean>;
}

/**
 * Load levelling's rate is for the whole service, not per instance: every interval this instance
 * asks how many instances there are and takes its share, so two instances of Billing together
 * charge at the configured rate. One instance alone runs at the whole rate. Resolves when stopped.
 */
export async function shareRate(options: RateShareOptions): Promise<void> {
  const { limiter, totalRate, signal } = options;
  const wait = options.wait ?? pause;
  while (await wait(options.intervalMs ?? SHARE_INTERVAL_MS, signal)) {
    try {
      const instances = Math.max(1, await options.instances());
      if (!signal.aborted) limiter.setRate(totalRate / instances);
    } catch {
      // Keep the last share until the count can be read again.
    }
  }
}
