import { afterEach, beforeEach, describe, expect, it, jest } from '@jest/globals';
import type { CheckoutConfig } from '../checkout.config.js';
import type { PrismaClient } from '../database.js';
import { WaitingLine } from './waiting-line.js';

const REFRESH_MS = 200;
const MAX_WAIT_SECONDS = 4;

describe('the waiting line’s door and the estimate it gives', () => {
  /** The line as the database would read it: the highest number settled and the highest issued. */
  let reading: { head: number; tail: number; decided_at?: Date } = { head: 0, tail: 0 };
  let line: WaitingLine;

  beforeEach(async () => {
    jest.useFakeTimers();
    reading = { head: 0, tail: 0 };
    // Stands in for the one query a refresh makes: pure bookkeeping is under test, not SQL.
    const prisma = { $queryRaw: async () => [{ ...reading }] } as unknown as PrismaClient;
    const config = {
      MAX_WAIT_SECONDS,
      ORDER_PENDING_DEADLINE_MS: 600_000,
      ORDER_CHARGE_MARGIN_MS: 60_000,
      WAITING_LINE_REFRESH_MS: REFRESH_MS,
    } as CheckoutConfig;
    line = new WaitingLine(prisma, config);
    await line.onModuleInit();
  });
  afterEach(() => {
    line.onModuleDestroy();
    jest.useRealTimers();
  });

  /** Lets `ms` pass, the head moving at `perSecond`. */
  async function drain(ms: number, perSecond: number): Promise<void> {
    for (let elapsed = 0; elapsed < ms; elapsed += REFRESH_MS) {
      reading = { ...reading, head: Math.min(reading.tail, reading.head + (perSecond * REFRESH_MS) / 1000) };
      await jest.advanceTimersByTimeAsync(REFRESH_MS);
    }
  }

  it('never admits a buyer with an estimate above the limit, at any length of line', async () => {
    // A long line drains at 20/s, its pace known, and is then offered one buyer at a time.
    reading = { head: 0, tail: 400 };
    await drain(12_000, 20);
    let admitted = 0;
    for (let step = 0; step < 200 && reading.head < reading.tail; step++) {
      if (line.closed() === null) {
        const place = line.join(reading.tail + 1);
        reading = { ...reading, tail: reading.tail + 1 };
        expect(place.estimatedWaitSeconds).toBeLessThanOrEqual(MAX_WAIT_SECONDS);
        admitted++;
      }
      await drain(REFRESH_MS, 20);
    }
    expect(admitted).toBeGreaterThan(0);
  });

  it('closes with the wait the next buyer would be told, and a Retry-After for the excess', async () => {
    reading = { head: 0, tail: 1_000 };
    await drain(12_000, 20);
    const closed = line.closed();
    const told = line.placeOf(reading.tail + 1).estimatedWaitSeconds;
    expect(closed).toEqual({ estimatedWaitSeconds: told, retryAfterSeconds: told! - MAX_WAIT_SECONDS });
  });

  it('stays open while the pace is unknown, or the line has stopped, or nobody is in line', async () => {
    reading = { head: 0, tail: 1_000 };
    await drain(REFRESH_MS * 2, 20);
    expect(line.closed()).toBeNull();
    expect(line.placeOf(1_000).estimatedWaitSeconds).toBeNull();
    // Billing stops: after the longer window, an estimate is unknown, and the line stays open.
    await drain(40_000, 0);
    expect(line.closed()).toBeNull();
    expect(line.placeOf(1_000).estimatedWaitSeconds).toBeNull();
    // The line drains to nothing: open, whatever the pace.
    await drain(60_000, 50);
    expect(reading.head).toBe(reading.tail);
    expect(line.closed()).toBeNull();
  });

  it('shortens the wait by how far Checkout’s record of the line lags behind Billing’s verdicts', async () => {
    reading = { head: 0, tail: 1_000 };
    await drain(12_000, 20);
    expect(line.placeOf(reading.head + 200).estimatedWaitSeconds).toBe(10);
    // Each head Checkout records now was decided by Billing 3 s ago: Billing is 60 places further on.
    for (let elapsed = 0; elapsed < 2_000; elapsed += REFRESH_MS) {
      reading = { ...reading, head: reading.head + 4, decided_at: new Date(Date.now() - 3_000) };
      await jest.advanceTimersByTimeAsync(REFRESH_MS);
    }
    expect(line.placeOf(reading.head + 200).estimatedWaitSeconds).toBe(7);
  });
});
