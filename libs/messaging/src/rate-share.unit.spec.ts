import { describe, expect, it } from '@jest/globals';
import { RateLimiter } from './rate-limiter.js';
import { shareRate } from './rate-share.js';

/** A wait that returns at once, `looks` times, then says the service stopped. */
function looks(count: number): (ms: number, signal: AbortSignal) => Promise<boolean> {
  let left = count;
  return async (_ms, signal) => !signal.aborted && left-- > 0;
}

describe('shareRate', () => {
  it('gives each instance its share of the whole rate as the number of instances changes', async () => {
    const limiter = new RateLimiter(100);
    const counts = [1, 2, 4];
    const rates: number[] = [];
    const next = looks(counts.length);
    await shareRate({
      limiter,
      totalRate: 100,
      instances: async () => counts.shift()!,
      signal: new AbortController().signal,
      wait: (ms, signal) => {
        rates.push(Math.round(limiter.ratePerSecond));
        return next(ms, signal);
      },
    });
    // The rate before each look, then after the last.
    expect(rates).toEqual([100, 100, 50, 25]);
    expect(limiter.ratePerSecond).toBeCloseTo(25);
  });

  it('keeps the last share while the count cannot be read', async () => {
    const limiter = new RateLimiter(100);
    const answers: Array<() => number> = [
      () => 2,
      () => {
        throw new Error('the broker is away');
      },
    ];
    await shareRate({
      limiter,
      totalRate: 100,
      instances: async () => answers.shift()!(),
      signal: new AbortController().signal,
      wait: looks(2),
    });
    expect(limiter.ratePerSecond).toBeCloseTo(50);
  });

  it('counts at least one instance, so a broker that counts none leaves the whole rate', async () => {
    const limiter = new RateLimiter(100);
    await shareRate({ limiter, totalRate: 100, instances: async () => 0, signal: new AbortController().signal, wait: looks(1) });
    expect(limiter.ratePerSecond).toBeCloseTo(100);
  });

  it('stops at once when the service stops', async () => {
    const limiter = new RateLimiter(100);
    const stopping = new AbortController();
    stopping.abort();
    let asked = 0;
    await shareRate({ limiter, totalRate: 100, instances: async () => ++asked, signal: stopping.signal });
    expect(asked).toBe(0);
  });
});
