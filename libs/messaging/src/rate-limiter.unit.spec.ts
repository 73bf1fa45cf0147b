import { describe, expect, it } from '@jest/globals';
import { RateLimiter } from './rate-limiter.js';

describe('RateLimiter', () => {
  it('spaces permits evenly at the configured rate', async () => {
    const now = 0;
    const waits: number[] = [];
    const limiter = new RateLimiter(
      100,
      () => now,
      async (ms) => void waits.push(ms),
    );
    for (let i = 0; i < 4; i++) await limiter.acquire();
    expect(waits).toEqual([10, 20, 30]);
  });

  it('does not save up permits while idle, so a spike after a pause is still levelled', async () => {
    let now = 0;
    const waits: number[] = [];
    const limiter = new RateLimiter(
      100,
      () => now,
      async (ms) => void waits.push(ms),
    );
    await limiter.acquire();
    now = 5_000;
    await limiter.acquire();
    await limiter.acquire();
    expect(waits).toEqual([10]);
  });

  it('spaces batches by their size, so the rate holds whatever the batch size', async () => {
    const now = 0;
    const waits: number[] = [];
    const limiter = new RateLimiter(
      100,
      () => now,
      async (ms) => void waits.push(ms),
    );
    await limiter.acquire(5);
    await limiter.acquire(10);
    await limiter.acquire(1);
    expect(waits).toEqual([50, 150]);
  });

  it('takes a new rate from the next permit on', async () => {
    const now = 0;
    const waits: number[] = [];
    const limiter = new RateLimiter(
      100,
      () => now,
      async (ms) => void waits.push(ms),
    );
    await limiter.acquire(2);
    limiter.setRate(50);
    await limiter.acquire(2);
    await limiter.acquire(1);
    expect(waits).toEqual([20, 60]);
  });

  it('sums what callers waited and the permits it handed out, for the metrics', async () => {
    const now = 0;
    const limiter = new RateLimiter(
      100,
      () => now,
      async () => {},
    );
    await limiter.acquire(5);
    await limiter.acquire(10);
    await limiter.acquire(1);
    expect(limiter.permits).toBe(16);
    expect(limiter.waitedSeconds).toBeCloseTo(0.2);
  });
});
