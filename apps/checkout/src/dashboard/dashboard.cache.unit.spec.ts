import { describe, expect, it } from '@jest/globals';
import { DashboardCache } from './dashboard.cache.js';

/** A computation the spec settles by hand, counting how often it was started. */
function computations() {
  const started: Array<{ resolve: (value: number) => void; reject: (error: Error) => void }> = [];
  const compute = () => new Promise<number>((resolve, reject) => started.push({ resolve, reject }));
  return { started, compute };
}

describe('the dashboard cache', () => {
  it('shares one computation among the callers while it runs and for its freshness after', async () => {
    let now = 0;
    const cache = new DashboardCache<number>(1_000, 100, () => now);
    const { started, compute } = computations();

    const first = cache.get('', compute);
    const second = cache.get('', compute);
    started[0].resolve(1);
    await expect(Promise.all([first, second])).resolves.toEqual([1, 1]);
    now = 999;
    await expect(cache.get('', compute)).resolves.toBe(1);
    expect(started).toHaveLength(1);

    now = 1_000;
    const later = cache.get('', compute);
    started[1].resolve(2);
    await expect(later).resolves.toBe(2);
  });

  it('keeps no failure: the next caller computes again', async () => {
    const cache = new DashboardCache<number>(1_000, 100, () => 0);
    const { started, compute } = computations();
    const failed = cache.get('', compute);
    started[0].reject(new Error('database away'));
    await expect(failed).rejects.toThrow('database away');

    const next = cache.get('', compute);
    started[1].resolve(3);
    await expect(next).resolves.toBe(3);
  });

  it('keeps at most its number of keys, dropping the oldest settled one', async () => {
    const cache = new DashboardCache<number>(1_000, 2, () => 0);
    const { started, compute } = computations();
    for (const key of ['a', 'b', 'c']) {
      const result = cache.get(key, compute);
      started.at(-1)!.resolve(started.length);
      await result;
    }
    await expect(cache.get('c', compute)).resolves.toBe(3);
    await expect(cache.get('b', compute)).resolves.toBe(2);
    expect(started).toHaveLength(3);
    const again = cache.get('a', compute); // dropped: computed anew
    expect(started).toHaveLength(4);
    started[3].resolve(4);
    await expect(again).resolves.toBe(4);
  });
});
