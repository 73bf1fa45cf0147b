import { describe, expect, it } from '@jest/globals';
import { ShutdownBudget, shutdownPhases, type ShutdownPhase } from './shutdown.budget.js';

/** A clock that moves only when told. */
function fakeClock(start = 1_000_000) {
  let now = start;
  return {
    now: () => now,
    advance: (ms: number) => void (now += ms),
  };
}

const never = new Promise<void>(() => {});
const phases = Object.keys(shutdownPhases) as ShutdownPhase[];

describe('a shutdown budget', () => {
  describe('when its phases are read', () => {
    it('runs them in order and ends the last one at the end of the budget', () => {
      const ends = phases.map((phase) => shutdownPhases[phase]);
      expect(ends).toEqual([...ends].sort((a, b) => a - b));
      expect(ends[ends.length - 1]).toBe(1);
    });
  });

  describe('when the signal comes', () => {
    it('is begun from then on, and a second signal does not restart the clock', () => {
      const clock = fakeClock();
      const budget = new ShutdownBudget(8_000, clock.now);
      expect(budget.begun).toBe(false);
      budget.begin();
      clock.advance(3_000);
      budget.begin();
      expect(budget.begun).toBe(true);
      expect(budget.elapsedMs()).toBe(3_000);
      expect(budget.remainingMs('application')).toBe(5_000);
    });

    it('gives each phase its share, counted from the signal', () => {
      const clock = fakeClock();
      const budget = new ShutdownBudget(8_000, clock.now);
      budget.begin();
      expect(Object.fromEntries(phases.map((phase) => [phase, budget.remainingMs(phase)]))).toEqual({
        consumers: 4_000,
        flush: 5_200,
        relay: 6_000,
        connections: 6_800,
        database: 7_600,
        application: 8_000,
      });
    });
  });

  describe('when a phase ends early', () => {
    it('leaves the time it did not use to the next, not a fresh timeout', () => {
      const clock = fakeClock();
      const budget = new ShutdownBudget(8_000, clock.now);
      budget.begin();
      clock.advance(500); // the consumers were done in half a second
      expect(budget.remainingMs('relay')).toBe(5_500);
    });
  });

  describe('when a phase takes all of its time', () => {
    it('leaves the later phases their own, and itself nothing more', () => {
      const clock = fakeClock();
      const budget = new ShutdownBudget(8_000, clock.now);
      budget.begin();
      clock.advance(4_700); // the consumers ran over their 4 s, and the relay started late
      expect(budget.remainingMs('consumers')).toBe(0);
      expect(budget.remainingMs('relay')).toBe(1_300);
      expect(budget.remainingMs('connections')).toBe(2_100);
      expect(budget.remainingMs('application')).toBe(3_300);
    });
  });

  describe('when a step is waited for within its phase', () => {
    it('says true for work that finished in time', async () => {
      const budget = new ShutdownBudget(8_000, fakeClock().now);
      await expect(budget.within('consumers', Promise.resolve())).resolves.toBe(true);
    });

    it('says false, without waiting for it, for work still running when its phase is over', async () => {
      const clock = fakeClock();
      const budget = new ShutdownBudget(8_000, clock.now);
      budget.begin();
      clock.advance(4_000);
      await expect(budget.within('consumers', never)).resolves.toBe(false);
    });

    it('throws what the work threw in time', async () => {
      const budget = new ShutdownBudget(8_000, fakeClock().now);
      await expect(budget.within('relay', Promise.reject(new Error('pool gone')))).rejects.toThrow('pool gone');
    });
  });

  describe('when no signal began it (a close by hand)', () => {
    it('begins at the first deadline asked for', () => {
      const clock = fakeClock();
      const budget = new ShutdownBudget(8_000, clock.now);
      expect(budget.deadlineOf('consumers')).toBe(clock.now() + 4_000);
      expect(budget.begun).toBe(true);
    });

    it('waits for everything when it is unbounded', async () => {
      const budget = ShutdownBudget.unbounded();
      expect(budget.remainingMs('consumers')).toBe(Infinity);
      await expect(budget.within('consumers', Promise.resolve())).resolves.toBe(true);
    });
  });
});
