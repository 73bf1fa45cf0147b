import { afterEach, beforeEach, describe, expect, it, jest } from '@jest/globals';
import { GatewayTimeoutException, NotFoundException, ServiceUnavailableException } from '@nestjs/common';
import type { CheckoutConfig } from '../checkout.config.js';
import { RetryLaterException } from '@boxoffice/platform';
import { AsyncLocalStorage } from 'node:async_hooks';
import { SyncOrderPolicies } from './sync-order.policies.js';

// The policies on their own: the work is an in-memory promise, Billing a function that fails or
// answers when told. (The same policies against a real HTTP Billing: sync-purchase.int.spec.ts.)

type PolicySettings = Pick<
  CheckoutConfig,
  'SYNC_POLICIES' | 'SYNC_TIMEOUT_MS' | 'SYNC_BULKHEAD_SIZE' | 'SYNC_BULKHEAD_QUEUE' | 'SYNC_BREAKER_FAILURES' | 'SYNC_BREAKER_HALF_OPEN_MS'
>;
const settings: PolicySettings = {
  SYNC_POLICIES: 'on',
  SYNC_TIMEOUT_MS: 2_000,
  SYNC_BULKHEAD_SIZE: 2,
  SYNC_BULKHEAD_QUEUE: 1,
  SYNC_BREAKER_FAILURES: 3,
  SYNC_BREAKER_HALF_OPEN_MS: 5_000,
};
const policiesWith = (overrides: Partial<PolicySettings> = {}) => new SyncOrderPolicies({ ...settings, ...overrides } as CheckoutConfig);

/** A piece of work that ends when the test says so. */
function held<T = string>() {
  let release!: (value: T) => void;
  const done = new Promise<T>((resolve) => (release = resolve));
  const calls: AbortSignal[] = [];
  const work = (signal: AbortSignal) => {
    calls.push(signal);
    return done;
  };
  return { release, calls, work };
}

const billingDown = () => Promise.reject(new ServiceUnavailableException('billing is unavailable: ECONNREFUSED'));
const billingUp = () => Promise.resolve('CAPTURED');

describe('the bulkhead', () => {
  describe('when every slot is taken and the queue is full', () => {
    it('refuses the next purchase at once with 503 and Retry-After, without running it', async () => {
      const policies = policiesWith();
      const slow = held();
      const running = [policies.run(slow.work), policies.run(slow.work), policies.run(slow.work)]; // 2 in flight, 1 queued
      const refused = jest.fn(() => Promise.resolve('never'));

      const rejection = await policies.run(refused).catch((error: unknown) => error);

      expect(rejection).toBeInstanceOf(RetryLaterException);
      expect(rejection).toMatchObject({ retryAfterSeconds: 1 });
      expect((rejection as RetryLaterException).getStatus()).toBe(503);
      expect(refused).not.toHaveBeenCalled();
      expect(slow.calls).toHaveLength(2); // the third waits in the queue
      slow.release('done');
      await expect(Promise.all(running)).resolves.toEqual(['done', 'done', 'done']);
    });
  });

  describe('when a queued purchase reaches its deadline before a slot frees', () => {
    it('answers it 504 and never runs it', async () => {
      const policies = policiesWith({ SYNC_BULKHEAD_SIZE: 1, SYNC_TIMEOUT_MS: 100 });
      const slow = held();
      const first = policies.run(slow.work).catch((error: unknown) => error);
      const queued = jest.fn(() => Promise.resolve('too late'));

      await expect(policies.run(queued)).rejects.toBeInstanceOf(GatewayTimeoutException);
      slow.release('done');
      await first;
      await expect(policies.run(() => Promise.resolve('next'))).resolves.toBe('next');
      expect(queued).not.toHaveBeenCalled();
    });
  });
  describe('when a purchase waits for a slot', () => {
    it('runs in its own request’s context, not in that of the purchase whose end freed the slot', async () => {
      // The context a trace's spans and a log line's trace id come from (AsyncLocalStorage).
      const request = new AsyncLocalStorage<string>();
      const policies = policiesWith({ SYNC_BULKHEAD_SIZE: 1 });
      const slow = held();
      const first = request.run('first buyer', () => policies.run(slow.work));
      const queued = request.run('second buyer', () => policies.run(async () => request.getStore()));

      slow.release('done');

      await expect(first).resolves.toBe('done');
      await expect(queued).resolves.toBe('second buyer');
    });
  });
});

describe('the deadline', () => {
  it('answers 504 at SYNC_TIMEOUT_MS though the work goes on, and aborts the work’s signal', async () => {
    const policies = policiesWith({ SYNC_TIMEOUT_MS: 100 });
    const slow = held();
    const started = performance.now();

    await expect(policies.run(slow.work)).rejects.toThrow('did not complete within 100 ms');

    // At the deadline: not before it, and long before the held work (which never ends by itself).
    expect(performance.now() - started).toBeGreaterThanOrEqual(90);
    expect(performance.now() - started).toBeLessThan(5_000);
    expect(slow.calls[0].aborted).toBe(true);
    slow.release('finished later');
  });

  it('counts the time the request spent in Checkout before the policies', async () => {
    const policies = policiesWith({ SYNC_TIMEOUT_MS: 100 });
    const work = jest.fn(() => Promise.resolve('never'));

    await expect(policies.run(work, 100)).rejects.toBeInstanceOf(GatewayTimeoutException);
    expect(work).not.toHaveBeenCalled();
  });
});

describe('the circuit breaker', () => {
  // cockatiel reads the time from Date.now(): only Date is faked, timers and promises stay real.
  beforeEach(() => {
    jest.useFakeTimers({
      now: new Date('2027-03-01T20:00:00Z'),
      doNotFake: [
        'hrtime',
        'nextTick',
        'performance',
        'queueMicrotask',
        'setImmediate',
        'clearImmediate',
        'setInterval',
        'clearInterval',
        'setTimeout',
        'clearTimeout',
      ],
    });
  });
  afterEach(() => {
    jest.useRealTimers();
  });

  const callingBilling = (policies: SyncOrderPolicies, billing: () => Promise<string>) => (signal: AbortSignal) =>
    policies.callBilling(billing, signal);
  async function openCircuit(policies: SyncOrderPolicies) {
    for (let i = 0; i < settings.SYNC_BREAKER_FAILURES; i++) {
      await expect(policies.run(callingBilling(policies, billingDown))).rejects.toThrow('ECONNREFUSED');
    }
    expect(policies.circuit).toBe('open');
  }

  describe('after a run of Billing failures', () => {
    it('opens, and answers 503 at once with the time left until the probe, without running the purchase', async () => {
      const policies = policiesWith();
      await openCircuit(policies);
      jest.setSystemTime(Date.now() + 2_000);
      const work = jest.fn(() => Promise.resolve('never'));

      const rejection = await policies.run(work).catch((error: unknown) => error);

      expect(rejection).toBeInstanceOf(RetryLaterException);
      expect(rejection).toMatchObject({ retryAfterSeconds: 3 });
      expect(work).not.toHaveBeenCalled();
    });
  });

  describe('when the half-open delay has passed', () => {
    it('lets one probe through, refuses the others while it is in flight, and closes when it succeeds', async () => {
      const policies = policiesWith();
      await openCircuit(policies);
      jest.setSystemTime(Date.now() + settings.SYNC_BREAKER_HALF_OPEN_MS);
      let answer!: (status: string) => void;
      const probe = policies.run(callingBilling(policies, () => new Promise<string>((resolve) => (answer = resolve))));

      expect(policies.circuit).toBe('half-open');
      await expect(policies.run(callingBilling(policies, billingUp))).rejects.toBeInstanceOf(RetryLaterException);
      answer('CAPTURED');
      await expect(probe).resolves.toBe('CAPTURED');
      expect(policies.circuit).toBe('closed');
      await expect(policies.run(callingBilling(policies, billingUp))).resolves.toBe('CAPTURED');
    });

    it('opens again for another delay when the probe fails', async () => {
      const policies = policiesWith();
      await openCircuit(policies);
      jest.setSystemTime(Date.now() + settings.SYNC_BREAKER_HALF_OPEN_MS);

      await expect(policies.run(callingBilling(policies, billingDown))).rejects.toThrow('ECONNREFUSED');

      expect(policies.circuit).toBe('open');
      await expect(policies.run(callingBilling(policies, billingUp))).rejects.toMatchObject({ retryAfterSeconds: 5 });
    });
  });

  describe('when purchases fail for reasons of their own', () => {
    it('stays closed: an unknown concert is not Billing failing', async () => {
      const policies = policiesWith();
      const unknownConcert = () => Promise.reject(new NotFoundException('concert does not exist'));

      for (let i = 0; i < settings.SYNC_BREAKER_FAILURES * 2; i++) {
        await expect(policies.run(callingBilling(policies, unknownConcert))).rejects.toBeInstanceOf(NotFoundException);
      }

      expect(policies.circuit).toBe('closed');
    });

    it('is reset by a success in between Billing failures', async () => {
      const policies = policiesWith();
      for (const billing of [billingDown, billingDown, billingUp, billingDown, billingDown]) {
        await policies.run(callingBilling(policies, billing)).catch(() => {});
      }

      expect(policies.circuit).toBe('closed');
    });
  });
});

describe('with SYNC_POLICIES=off', () => {
  it('runs every purchase at once, with only a timeout on its signal', async () => {
    const policies = policiesWith({ SYNC_POLICIES: 'off', SYNC_BULKHEAD_SIZE: 1, SYNC_BULKHEAD_QUEUE: 0 });
    const slow = held();

    const running = [policies.run(slow.work), policies.run(slow.work), policies.run(slow.work)];

    expect(slow.calls).toHaveLength(3);
    expect(slow.calls.every((signal) => !signal.aborted)).toBe(true);
    slow.release('done');
    await expect(Promise.all(running)).resolves.toEqual(['done', 'done', 'done']);
  });
});
