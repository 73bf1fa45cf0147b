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

  it('counts a quiet spell for nothing, and tells a new line the pace the last one moved at', () => {
    const rate = new DrainRate(10_000, 1_000);
    // A line drains at 200/s for two seconds, then the box office is quiet for a minute.
    rate.record({ atMs: 0, head: 0, tail: 400 });
    rate.record({ atMs: 1_000, head: 200, tail: 400 });
    rate.record({ atMs: 2_000, head: 400, tail: 400 });
    for (let second = 3; second < 60; second++) rate.record({ atMs: second * 1_000, head: 400, tail: 400 });
    expect(rate.perSecond()).toBe(200);
    // A sale starts: until it has moved for long enough, the last pace stands; then its own counts most.
    rate.record({ atMs: 60_000, head: 400, tail: 5_000 });
    expect(rate.perSecond()).toBe(200);
    for (let second = 61; second <= 70; second++) rate.record({ atMs: second * 1_000, head: 400 + (second - 60) * 500, tail: 10_000 });
    expect(rate.perSecond()).toBe(500);
  });

  it('is 0, not unknown, when a line has not moved for the whole window', () => {
    const rate = new DrainRate(10_000, 1_000);
    for (let second = 0; second <= 12; second++) rate.record({ atMs: second * 1_000, head: 40, tail: 900 });
    expect(rate.perSecond()).toBe(0);
  });

  it('is Billing’s pace, by its verdicts’ times, while Checkout records them late', () => {
    const rate = new DrainRate(10_000, 1_000);
    // Checkout records 175 places every 500 ms (350/s) that Billing decided in 376 ms (465/s).
    for (let step = 0; step <= 20; step++)
      rate.record({
        atMs: step * 500,
        head: step * 175,
        tail: 20_000,
        headDecidedAtMs: 1_000_000 + step * 376,
        headBehindMs: 2_000 + step * 124,
      });
    expect(rate.perSecond()).toBeCloseTo(465.4, 1);
  });

  it('measures by Checkout’s clock where the head was decided long before the line began', () => {
    const rate = new DrainRate(10_000, 1_000);
    // The last line ended a minute ago; a new one starts, its first verdicts not in yet.
    rate.record({ atMs: 0, head: 400, tail: 5_000, headDecidedAtMs: 1_000_000, headBehindMs: 60_000 });
    rate.record({ atMs: 1_000, head: 600, tail: 5_000, headDecidedAtMs: 1_061_000, headBehindMs: 0 });
    expect(rate.perSecond()).toBe(200);
  });

  it('measures a move after a long stall over the whole stall, where the verdicts’ times cannot tell', () => {
    const rate = new DrainRate(10_000, 1_000);
    // Checkout records nothing for ten seconds (its consumer stalled), its last head falling ever
    // further behind, then 2,000 places at once.
    for (let step = 0; step <= 20; step++)
      rate.record({ atMs: step * 500, head: 1_000, tail: 9_000, headDecidedAtMs: 1_000_000, headBehindMs: step * 500 + 1_000 });
    rate.record({ atMs: 10_500, head: 3_000, tail: 9_000, headDecidedAtMs: 1_010_400, headBehindMs: 100 });
    expect(rate.perSecond()).toBeCloseTo(2_000 / 10.5, 0);
  });
});
