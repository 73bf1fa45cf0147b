import { afterEach, beforeEach, describe, expect, it, jest } from '@jest/globals';
import { renewEvery } from './batch.keep-alive.js';

// Jest's fake clock: each interval passes exactly when the spec says, and "never again" is a
// stretch of time the spec moves through, not a pause it hopes is long enough.
describe('keeping a batch alive', () => {
  beforeEach(() => {
    jest.useFakeTimers();
  });
  afterEach(() => {
    jest.useRealTimers();
  });

  it('renews it every interval until told to stop, and then never again', async () => {
    let renewals = 0;
    const stop = renewEvery(5, () => void renewals++);
    await jest.advanceTimersByTimeAsync(15);
    expect(renewals).toBe(3);
    stop();
    await jest.advanceTimersByTimeAsync(100);
    expect(renewals).toBe(3);
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
    await jest.advanceTimersByTimeAsync(15);
    stop();
    expect(renewals).toBe(3);
    expect(failures.map((error) => (error as Error).message)).toEqual(['refused', 'rebalancing']);
  });
});
