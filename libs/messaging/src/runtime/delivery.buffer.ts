import type { BatchSettings } from '../transport.port.js';

/**
 * Where a broker that pushes deliveries (a prefetch window, link credit) leaves them for a lane
 * to take in batches. A batch closes at its size or its wait, whichever comes first, which
 * bounds the latency batching adds; `together` keeps a batch to deliveries that can be settled
 * together (those of one channel, say).
 *
 * The wait is only worth it when more deliveries are coming. One that comes after a quiet spell
 * (the delivery before it longer ago than the wait) goes at once, with whatever came in the same
 * read from the socket or waited behind it: at idle an order's charge does not sit out the wait,
 * and under load, when deliveries come close together, batches fill as before.
 */
export class DeliveryBuffer<D> {
  private readonly waiting: D[] = [];
  private wake: (() => void) | null = null;
  private lastPushAt = Number.NEGATIVE_INFINITY;
  /** How long before the oldest delivery waiting the one before it came. */
  private gapBeforeOldestMs = Number.POSITIVE_INFINITY;

  constructor(private readonly together: (first: D, other: D) => boolean = () => true) {}

  get size(): number {
    return this.waiting.length;
  }

  push(delivery: D): void {
    const now = performance.now();
    if (this.waiting.length === 0) this.gapBeforeOldestMs = now - this.lastPushAt;
    this.lastPushAt = now;
    this.waiting.push(delivery);
    this.wake?.();
  }

  /**
   * Waits for a first delivery, then up to `maxWaitMs` for the batch to fill, unless that delivery
   * came after a quiet spell; [] once `signal` aborts.
   */
  async next({ maxMessages, maxWaitMs }: BatchSettings, signal: AbortSignal): Promise<D[]> {
    while (this.waiting.length === 0 && !signal.aborted) await this.wait(signal);
    const afterQuiet = this.gapBeforeOldestMs > maxWaitMs;
    const deadline = performance.now() + (afterQuiet ? 0 : maxWaitMs);
    while (this.waiting.length < maxMessages && !signal.aborted && performance.now() < deadline) {
      await this.wait(signal, deadline - performance.now());
    }
    if (signal.aborted) return [];
    const first = this.waiting[0];
    const apart = this.waiting.findIndex((delivery) => !this.together(first, delivery));
    return this.waiting.splice(0, Math.min(maxMessages, apart < 0 ? this.waiting.length : apart));
  }

  /** Takes out what `which` picks (everything, by default): to hand back on stop, or to forget a closed channel's. */
  take(which: (delivery: D) => boolean = () => true): D[] {
    const taken = this.waiting.filter(which);
    const kept = this.waiting.filter((delivery) => !which(delivery));
    this.waiting.splice(0, this.waiting.length, ...kept);
    return taken;
  }

  private wait(signal: AbortSignal, timeoutMs?: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        signal.removeEventListener('abort', done);
        this.wake = null;
        resolve();
      };
      const timer = timeoutMs === undefined ? undefined : setTimeout(done, Math.max(0, timeoutMs));
      signal.addEventListener('abort', done, { once: true });
      this.wake = done;
    });
  }
}
