import { describe, expect, it } from '@jest/globals';
import { renewEvery } from './batch.keep-alive.js';

/** Resolves once `check` holds, polling every few milliseconds; fails the test after a second. */
async function eventually(check: () => boolean): Promise<void> {
  const deadline = Date.now() + 1_000;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not met within 1 s');
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}

describe('keeping a batch alive', () => {
  it('renews it every interval until told to stop, and then never again', async () => {
    let renewals = 0;
    const stop = renewEvery(5, () => void renewals++);
    await eventually(() => renewals >= 3);
    stop();
    const stoppedAt = renewals;
    await new Promise((resolve) => setTimeout(resolve, 30));
    expect(renewals).toBe(stoppedAt);
  });

  it('hands a renew that fails, at once or later, to `failed`, and goes on renewing', async () => {
    const failures: unknown[] = [];
    let renewals = 0;
    const stop = renewEvery(
      5,
      () => {
        renewals += 1;
        if (renewals === 1) throw new Error('refused');
        if (renewals === 2) return Promise.reject(new Error('rebalancing'));
      },
      (error) => failures.push(error),
    );
    await eventually(() => renewals >= 3);
    stop();
    expect(failures.map((error) => (error as Error).message)).toEqual(['refused', 'rebalancing']);
  });
});
