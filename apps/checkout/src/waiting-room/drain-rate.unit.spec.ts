import { describe, expect, it } from '@jest/globals';
import { DrainRate } from './drain-rate.js';

describe('the drain rate of the waiting line', () => {
  it('is unknown until the window spans a second', () => {
    const rate = new DrainRate(10_000, 1_000);
    rate.record({ atMs: 0, head: 0, tail: 100 });
    // The line's first move measures nothing (below); the next, half a second, is too little.
    rate.record({ atMs: 500, head: 50, tail: 100 });
    rate.record({ atMs: 1_000, head: 100, tail: 200 });
    expect(rate.perSecond()).toBeNull();
    rate.record({ atMs: 1_500, head: 150, tail: 200 });
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
    for (let second = 61; second <= 71; second++) rate.record({ atMs: second * 1_000, head: 400 + (second - 60) * 500, tail: 10_000 });
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

  it('counts a new line’s first move for nothing, however short the quiet spell before it', () => {
    const rate = new DrainRate(10_000, 1_000);
    // A line drains at 500/s by its verdicts for ten seconds, then all is quiet for three.
    for (let step = 0; step <= 20; step++)
      rate.record({ atMs: step * 500, head: step * 250, tail: 5_000, headDecidedAtMs: 1_000_000 + step * 500, headBehindMs: 100 });
    rate.record({ atMs: 10_500, head: 5_000, tail: 5_000, headDecidedAtMs: 1_010_000, headBehindMs: 600 });
    rate.record({ atMs: 13_500, head: 5_000, tail: 5_000, headDecidedAtMs: 1_010_000, headBehindMs: 3_600 });
    // A sale begins; Checkout records nothing for a second, then its first verdicts, decided
    // 4.7 s after the last line's last: the quiet spell and Billing's start, not its pace.
    rate.record({ atMs: 14_000, head: 5_000, tail: 9_000, headDecidedAtMs: 1_010_000, headBehindMs: 4_100 });
    rate.record({ atMs: 14_500, head: 5_000, tail: 10_000, headDecidedAtMs: 1_010_000, headBehindMs: 4_600 });
    rate.record({ atMs: 15_000, head: 5_100, tail: 12_000, headDecidedAtMs: 1_014_700, headBehindMs: 300 });
    // Until the sale has a pace of its own, the last line's stands.
    expect(rate.perSecond()).toBe(500);
    // From then on Billing goes at 400/s, and the window comes to say so.
    for (let step = 1; step <= 20; step++)
      rate.record({
        atMs: 15_000 + step * 500,
        head: 5_100 + step * 200,
        tail: 20_000,
        headDecidedAtMs: 1_014_700 + step * 500,
        headBehindMs: 300,
      });
    expect(rate.perSecond()).toBe(400);
  });

  it('keeps the last line’s pace through lines so short that each moves once', () => {
    const rate = new DrainRate(10_000, 1_000);
    for (let step = 0; step <= 20; step++)
      rate.record({ atMs: step * 500, head: step * 100, tail: 2_000, headDecidedAtMs: 1_000_000 + step * 500, headBehindMs: 100 });
    expect(rate.perSecond()).toBe(200);
    // A quiet evening: one buyer at a time, each settled by the next reading, a few seconds apart.
    for (let order = 1; order <= 30; order++) {
      const atMs = 10_000 + order * 3_000;
      rate.record({ atMs, head: 2_000 + order - 1, tail: 2_000 + order, headDecidedAtMs: 1_000_000 + atMs - 2_500, headBehindMs: 2_500 });
      rate.record({
        atMs: atMs + 500,
        head: 2_000 + order,
        tail: 2_000 + order,
        headDecidedAtMs: 1_000_000 + atMs + 400,
        headBehindMs: 100,
      });
    }
    expect(rate.perSecond()).toBe(200);
  });

  it('counts for nothing the first move of a line that is there when Checkout starts', () => {
    const rate = new DrainRate(10_000, 1_000);
    // Started as a sale begins, three seconds after the last line's last verdict.
    rate.record({ atMs: 0, head: 5_000, tail: 9_000, headDecidedAtMs: 1_000_000, headBehindMs: 3_000 });
    rate.record({ atMs: 500, head: 5_100, tail: 9_000, headDecidedAtMs: 1_003_200, headBehindMs: 300 });
    expect(rate.perSecond()).toBeNull();
    for (let step = 1; step <= 4; step++)
      rate.record({
        atMs: 500 + step * 500,
        head: 5_100 + step * 250,
        tail: 9_000,
        headDecidedAtMs: 1_003_200 + step * 500,
        headBehindMs: 300,
      });
    expect(rate.perSecond()).toBe(500);
  });

  it('is unknown after a stall longer than the window until the line has moved on for a second, then the pace since', () => {
    const rate = new DrainRate(10_000, 1_000);
    // Billing stops for eleven seconds: the head stays where it was, its verdict ever older.
    for (let step = 0; step <= 22; step++)
      rate.record({ atMs: step * 500, head: 1_000, tail: 9_000, headDecidedAtMs: 1_000_000, headBehindMs: step * 500 + 100 });
    expect(rate.perSecond()).toBe(0);
    // Billing is back: its first verdicts, then 250 places in the next 500 ms.
    rate.record({ atMs: 11_500, head: 1_200, tail: 9_000, headDecidedAtMs: 1_011_300, headBehindMs: 100 });
    expect(rate.perSecond()).toBeNull();
    rate.record({ atMs: 12_000, head: 1_450, tail: 9_000, headDecidedAtMs: 1_011_800, headBehindMs: 100 });
    rate.record({ atMs: 12_500, head: 1_700, tail: 9_000, headDecidedAtMs: 1_012_300, headBehindMs: 100 });
    expect(rate.perSecond()).toBe(500);
  });

  it('measures by Checkout’s clock where every verdict is more than a window behind its reading (clocks apart)', () => {
    const rate = new DrainRate(10_000, 1_000);
    // Billing's clock is a minute behind Checkout's: 200 places a second by Checkout's clock.
    for (let second = 0; second <= 5; second++)
      rate.record({ atMs: second * 1_000, head: second * 200, tail: 5_000, headDecidedAtMs: second * 1_000, headBehindMs: 60_000 });
    expect(rate.perSecond()).toBe(200);
  });
});
