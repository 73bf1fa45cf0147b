import { describe, expect, it } from '@jest/globals';
import { RateLimiter } from '@boxoffice/messaging';
import { RetryLaterException } from '@boxoffice/platform';
import { SyncChargeAdmission } from './sync-charge.admission.js';

/** A limiter on a clock the test moves: a wait for a permit ends only when the test says so. */
function pausedLimiter(ratePerSecond: number) {
  const sleepers: Array<() => void> = [];
  const limiter = new RateLimiter(
    ratePerSecond,
    () => 0,
    () => new Promise<void>((resolve) => sleepers.push(resolve)),
  );
  return { limiter, wakeAll: () => sleepers.splice(0).forEach((wake) => wake()), sleeping: () => sleepers.length };
}

describe('SyncChargeAdmission', () => {
  it('admits at its own rate, and turns away with Retry-After at once when its line is full', async () => {
    const { limiter, wakeAll, sleeping } = pausedLimiter(2);
    const admission = new SyncChargeAdmission(limiter, 2);

    await admission.admit(); // the first permit is due now
    const second = admission.admit();
    const third = admission.admit();
    expect(sleeping()).toBe(2);

    const refused = await admission.admit().catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(RetryLaterException);
    expect(refused).toMatchObject({ retryAfterSeconds: 1 });
    expect(limiter.permits).toBe(3); // the refused call took no permit

    wakeAll();
    await Promise.all([second, third]);
    // The line has room again.
    const fourth = admission.admit();
    expect(sleeping()).toBe(1);
    wakeAll();
    await fourth;
  });
});
