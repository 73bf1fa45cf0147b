import { describe, expect, it } from '@jest/globals';
import { DrainRate } from './drain-rate.js';

describe('the drain rate of the waiting line', () => {
  it('is unknown until the window spans a second', () => {
    const rate = new DrainRate(10_000, 1_000);
    rate.record({ atMs: 0, head: 0, tail: 100 });
    rate.record({ atMs: 500, head: 50, tail: 100 });
    expect(rate.perSecond()).toBeNull();
    rate.record({ atMs: 1_000, head: 100, tail: 200 });
    expect(rate.perSecond()).toBe(100);
  });

  it('counts only the last window', () => {
    const rate = new DrainRate(2_000, 1_000);
    // 100/s for three seconds, then 400/s for two.
    for (let second = 0; second <= 3; second++) rate.record({ atMs: second * 1_000, head: second * 100, tail: 10_000 });
    rate.record({ atMs: 4_000, head: 700, tail: 10_000 });
    rate.record({ atMs: 5_000, head: 1_100, tail: 10_000 });
    expect(rate.perSecond()).toBe(400);
  });

  it('starts again when the line empties: a quiet spell before a sale says nothing of how fast it drains', () => {
    const rate = new DrainRate(10_000, 1_000);
    for (let second = 0; second < 8; second++) rate.record({ atMs: second * 1_000, head: 10, tail: 10 });
    rate.record({ atMs: 8_000, head: 10, tail: 5_000 });
    rate.record({ atMs: 9_000, head: 510, tail: 6_000 });
    expect(rate.perSecond()).toBe(500);
  });

  it('is 0, not unknown, when a line has not moved for the whole window', () => {
    const rate = new DrainRate(10_000, 1_000);
    for (let second = 0; second <= 12; second++) rate.record({ atMs: second * 1_000, head: 40, tail: 900 });
    expect(rate.perSecond()).toBe(0);
  });
});
