import { setTimeout as delay } from 'node:timers/promises';

/**
 * Hands out at most `ratePerSecond` permits a second, evenly spaced: each caller gets the next
 * free slot and waits for it. In front of a consumer this is load levelling: however large the
 * spike in the queue, the database behind the handler sees a steady flow. A batch asks for one
 * permit per message, so the rate holds whatever the batch size.
 */
export class RateLimiter {
  private intervalMs: number;
  private nextSlot = 0;
  private waitedMs = 0;
  private granted = 0;

  constructor(
    ratePerSecond: number,
    private readonly now: () => number = () => performance.now(),
    private readonly sleep: (ms: number) => Promise<unknown> = delay,
  ) {
    this.intervalMs = RateLimiter.intervalOf(ratePerSecond);
  }

  get ratePerSecond(): number {
    return 1_000 / this.intervalMs;
  }

  /** Seconds callers spent waiting for their first permit, summed over every caller: what levelling cost (a metric). */
  get waitedSeconds(): number {
    return this.waitedMs / 1_000;
  }

  /** Permits handed out so far. */
  get permits(): number {
    return this.granted;
  }

  /** Changes the rate from the next permit on (for a rate shared among instances whose number changes). */
  setRate(ratePerSecond: number): void {
    this.intervalMs = RateLimiter.intervalOf(ratePerSecond);
  }

  /** Waits until `count` more permits are due: the first one's slot, the rest spaced after it. */
  async acquire(count = 1): Promise<void> {
    const now = this.now();
    const slot = Math.max(now, this.nextSlot);
    this.nextSlot = slot + this.intervalMs * count;
    this.granted += count;
    // A batch of n starts when its first permit is due and may take the rest of its n slots to run.
    if (slot > now) {
      this.waitedMs += slot - now;
      await this.sleep(slot - now);
    }
  }

  private static intervalOf(ratePerSecond: number): number {
    if (!(ratePerSecond > 0)) throw new RangeError('ratePerSecond must be above 0');
    return 1_000 / ratePerSecond;
  }
}
