/** One reading of the line: when, the highest number settled (head) and the highest issued (tail). */
export interface LineReading {
  readonly atMs: number;
  readonly head: number;
  readonly tail: number;
}

/**
 * How fast the line moves: places settled per second over the last `windowMs`, counted only
 * while there was a line. A quiet minute before a sale says nothing of how fast its queue will
 * drain, so the window starts again whenever the line is empty.
 *
 * `perSecond()` is null until the window spans `minSpanMs` (too early to tell), and 0 when the
 * line has not moved for that long (Billing stopped, say): an estimate is then unknown, not
 * infinite, and the line stays open, since the async path takes orders whatever Billing does.
 */
export class DrainRate {
  private readings: LineReading[] = [];

  constructor(
    private readonly windowMs = 10_000,
    private readonly minSpanMs = 1_000,
  ) {}

  record(reading: LineReading): void {
    if (reading.tail <= reading.head) {
      this.readings = [];
      return;
    }
    this.readings.push(reading);
    const since = reading.atMs - this.windowMs;
    while (this.readings.length > 2 && this.readings[1].atMs <= since) this.readings.shift();
  }

  perSecond(): number | null {
    const first = this.readings[0];
    const last = this.readings.at(-1);
    if (!first || !last || last.atMs - first.atMs < this.minSpanMs) return null;
    return ((last.head - first.head) * 1000) / (last.atMs - first.atMs);
  }
}
