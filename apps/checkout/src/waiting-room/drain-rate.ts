/** One reading of the line: when, the highest number settled (head) and the highest issued (tail). */
export interface LineReading {
  readonly atMs: number;
  readonly head: number;
  readonly tail: number;
}

/**
 * How fast the line moves: places settled per second over the last `windowMs` of time during
 * which there was a line. A quiet spell says nothing of how fast a queue drains, so it counts for
 * nothing: the first buyers of a sale are told the pace the last line moved at, until the new
 * line has moved long enough to tell its own.
 *
 * `perSecond()` is null until `minSpanMs` of busy time is known (too early to tell), and 0 when
 * the line has not moved for the whole window (Billing stopped, say): an estimate is then
 * unknown, not infinite, and the line stays open, since the async path takes orders whatever
 * Billing does.
 */
export class DrainRate {
  /** The busy intervals between readings, newest last: how long each lasted and how far the head moved. */
  private spans: Array<{ readonly ms: number; readonly places: number }> = [];
  private busyMs = 0;
  private last: LineReading | undefined;

  constructor(
    private readonly windowMs = 10_000,
    private readonly minSpanMs = 1_000,
  ) {}

  record(reading: LineReading): void {
    const previous = this.last;
    this.last = reading;
    // Only an interval that began with a line measures how fast the line moves.
    if (!previous || previous.tail <= previous.head) return;
    const span = { ms: reading.atMs - previous.atMs, places: reading.head - previous.head };
    this.spans.push(span);
    this.busyMs += span.ms;
    while (this.spans.length > 1 && this.busyMs - this.spans[0].ms >= this.windowMs) this.busyMs -= this.spans.shift()!.ms;
  }

  /** Places per second over the newest `windowMs` of busy time. */
  perSecond(): number | null {
    const { windowMs } = this;
    let ms = 0;
    let places = 0;
    for (let i = this.spans.length - 1; i >= 0 && ms < windowMs; i--) {
      ms += this.spans[i].ms;
      places += this.spans[i].places;
    }
    if (ms < this.minSpanMs) return null;
    return (places * 1000) / ms;
  }
}
