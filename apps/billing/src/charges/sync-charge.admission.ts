import type { RateLimiter } from '@boxoffice/messaging';
import { RetryLaterException } from '@boxoffice/platform';

/**
 * The synchronous door's own admission into Billing. POST /charges takes permits from a limiter
 * of its own (BILLING_SYNC_MAX_RATE), not from the work queue's (BILLING_MAX_RATE): a flood of
 * synchronous calls cannot push the queue's charges back, and a spike in the queue cannot make
 * every synchronous caller wait. At most BILLING_SYNC_MAX_WAITING calls wait for a permit; the
 * next is answered 503 with Retry-After at once, so a caller is never held longer than the
 * waiting line it joined (docs/patterns/sync-vs-async.md).
 */
export class SyncChargeAdmission {
  private waiting = 0;

  constructor(
    /** Its own, at BILLING_SYNC_MAX_RATE: never the work queue's. */
    private readonly limiter: RateLimiter,
    private readonly maxWaiting: number,
  ) {}

  /** Waits for this call's permit; throws RetryLaterException (503) when the line is full. */
  async admit(): Promise<void> {
    if (this.waiting >= this.maxWaiting) {
      // The line drains at the rate: the last in it is served within this many seconds.
      const seconds = Math.max(1, Math.ceil(this.maxWaiting / this.limiter.ratePerSecond));
      throw new RetryLaterException(`Billing takes ${this.maxWaiting} synchronous charges waiting at once already; try again`, seconds);
    }
    this.waiting += 1;
    try {
      await this.limiter.acquire();
    } finally {
      this.waiting -= 1;
    }
  }
}
