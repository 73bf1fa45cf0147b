import { setTimeout as delay } from 'node:timers/promises';

/**
 * Hands out at most `ratePerSecond` permits a second, evenly spaced: each caller gets the next
 * free slot and waits for it. In front of a consumer this is load levelling: however large the
 * spike in the queue, the database behind the handler sees a steady flow.
 */
export class RateLimiter {
  private readonly intervalMs: number;
  private nextSlot = 0;

  constructor(
    ratePerSecond: number,
    private readonly now: () => number = () => performance.now(),
    private readonly sleep: (ms: number) => Promise<unknown> = delay,
  ) {
    if (!(ratePerSecond > 0)) throw new RangeError('ratePerSecond must be above 0');
    this.intervalMs = 1_000 / ratePerSecond;
  }

  async acquire(): Promise<void> {
    const now = this.now();
    const slot = Math.max(now, this.nextSlot);
    this.nextSlot = slot + this.intervalMs;
    if (slot > now) await this.sleep(slot - now);
  }
}
