import { describe, expect, it } from '@jest/globals';
import { CachedSample } from './metrics.sample.js';

/** A reading the test finishes by hand. */
function deferred<T>() {
  let resolve!: (value: T) => void;
  let reject!: (error: Error) => void;
  const promise = new Promise<T>((res, rej) => ((resolve = res), (reject = rej)));
  return { promise, resolve, reject };
}

describe('CachedSample', () => {
  it('reads once for every scrape within the fresh window', async () => {
    let now = 0;
    let reads = 0;
    const sample = new CachedSample(async () => ++reads, { freshMs: 1_000, timeoutMs: 100, staleMs: 10_000, now: () => now });
    expect(await sample.get()).toBe(1);
    now = 999;
    expect(await sample.get()).toBe(1);
    now = 1_000;
    expect(await sample.get()).toBe(2);
  });

  it('lets scrapes that arrive while a reading runs share it', async () => {
    const pending = deferred<number>();
    let reads = 0;
    const sample = new CachedSample(() => (reads++, pending.promise), { freshMs: 1_000, timeoutMs: 5_000, staleMs: 10_000 });
    const both = Promise.all([sample.get(), sample.get()]);
    pending.resolve(7);
    expect(await both).toEqual([7, 7]);
    expect(reads).toBe(1);
  });

  describe('when a reading takes longer than the timeout', () => {
    it('serves the last value and keeps the reading going for the next scrape', async () => {
      let now = 0;
      let next = deferred<number>();
      const sample = new CachedSample(() => next.promise, { freshMs: 1_000, timeoutMs: 20, staleMs: 10_000, now: () => now });
      next.resolve(1);
      expect(await sample.get()).toBe(1);
      now = 2_000;
      next = deferred<number>();
      expect(await sample.get()).toBe(1); // timed out: the stale value
      next.resolve(2);
      await next.promise;
      expect(await sample.get()).toBe(2);
    });

    it('serves nothing once the last value is older than staleMs', async () => {
      let now = 0;
      let next = deferred<number>();
      const sample = new CachedSample(() => next.promise, { freshMs: 1_000, timeoutMs: 20, staleMs: 5_000, now: () => now });
      next.resolve(1);
      await sample.get();
      now = 6_000;
      next = deferred<number>();
      expect(await sample.get()).toBeNull();
    });
  });

  it('drops the value when a reading fails, and says so', async () => {
    let now = 0;
    let fail = false;
    const sample = new CachedSample(
      async () => {
        if (fail) throw new Error('broker away');
        return 3;
      },
      { freshMs: 1_000, timeoutMs: 100, staleMs: 10_000, now: () => now },
    );
    expect(await sample.get()).toBe(3);
    expect(sample.ok).toBe(true);
    fail = true;
    now = 1_000;
    expect(await sample.get()).toBeNull();
    expect(sample.ok).toBe(false);
  });
});
