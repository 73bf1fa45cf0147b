/**
 * One reading of the line: when (Checkout's monotonic clock), the highest number settled (head)
 * and the highest issued (tail), and when the head's outcome was decided (Billing's verdict's own
 * time, epoch ms; null before anything was settled) and how long before this reading that was.
 */
export interface LineReading {
  readonly atMs: number;
  readonly head: number;
  readonly tail: number;
  readonly headDecidedAtMs?: number | null;
  readonly headBehindMs?: number;
}

/** How much of the line's recent past its pace is measured over: ten seconds of busy time. */
export const DRAIN_WINDOW_MS = 10_000;

/**
 * How fast the line moves: places decided per second over the last `windowMs` of time during
 * which there was a line. A quiet spell says nothing of how fast a queue drains, so it counts for
 * nothing: the first buyers of a sale are told the pace the last line moved at, until the new
 * line has moved long enough to tell its own.
 *
 * The pace is Billing's: the places the head moved against the time between their verdicts, not
 * the time Checkout took to record them. While a crowd arrives, Checkout's settling lags behind
 * Billing, then catches up faster than Billing goes, and a buyer told the pace of Checkout's
 * bookkeeping would be told a wait much longer than the one they get
 * (docs/patterns/load-levelling.md#the-waiting-room). Where the verdicts' times say nothing (two
 * hosts' clocks far apart), Checkout's own clock measures the interval, since the head last moved.
 * Either way the pace stays within four times of what Checkout's own clock says, whatever the
 * clocks of two hosts do.
 *
 * A line's first move measures nothing: its earlier head was decided before the line began (the
 * last sale's last order, a quiet spell ago) or before a stall longer than the window (Billing
 * stopped, Checkout not recording), and the time between the two verdicts is mostly that quiet
 * spell or that stall, not the pace. So that move and the still spans just before it are left
 * out, and the pace is measured from the next move on, which both verdicts bound; until then the
 * window holds what it held before (the last line's pace, or nothing after a long stall). A stall
 * shorter than the window is measured across: it is part of how fast the line moved lately.
 *
 * `perSecond()` is null until `minSpanMs` of busy time is known (too early to tell, or a line
 * just moving again after a long stall), and 0 when the line has not moved for the whole window
 * (Billing stopped, say): an estimate is then unknown, not infinite, and the line stays open,
 * since the async path takes orders whatever Billing does.
 */
export class DrainRate {
  /** The busy intervals between readings, newest last: how long each lasted, how far the head moved and over how long its verdicts. */
  private spans: Array<{ readonly ms: number; readonly decidedMs: number; readonly places: number }> = [];
  private busyMs = 0;
  /** Busy time since the head last moved. */
  private stillMs = 0;
  /** Whether the head was decided before the line began, or before a long stall: its next move is the line's first. */
  private firstMoveAhead = false;
  private last: LineReading | undefined;

  constructor(
    private readonly windowMs = DRAIN_WINDOW_MS,
    private readonly minSpanMs = 1_000,
  ) {}

  record(reading: LineReading): void {
    const previous = this.last;
    this.last = reading;
    // Only an interval that began with a line measures how fast the line moves. A line that
    // appears with its head where it was (or is there when Checkout starts) waits for its first move.
    if (!previous || previous.tail <= previous.head) {
      if (reading.tail > reading.head) this.firstMoveAhead = !previous || reading.head === previous.head;
      return;
    }
    const ms = reading.atMs - previous.atMs;
    const places = reading.head - previous.head;
    // A head left a window behind by verdicts that are recent again was stalled: the line moves anew.
    if (this.isStale(previous) && !this.isStale(reading)) this.firstMoveAhead = true;
    if (places > 0 && this.firstMoveAhead) {
      this.firstMoveAhead = false;
      this.stillMs = 0;
      while (this.spans.length > 0 && this.spans.at(-1)!.places === 0) this.busyMs -= this.spans.pop()!.ms;
      return;
    }
    // A still span takes no verdict time; a move takes the verdicts' interval, or else all the
    // busy time since the head last moved (the still spans before it counted none).
    const decidedMs = places === 0 ? 0 : (this.decidedMsBetween(previous, reading) ?? this.stillMs + ms);
    this.stillMs = places === 0 ? this.stillMs + ms : 0;
    this.spans.push({ ms, decidedMs, places });
    this.busyMs += ms;
    while (this.spans.length > 1 && this.busyMs - this.spans[0].ms >= this.windowMs) this.busyMs -= this.spans.shift()!.ms;
  }

  /** Places decided per second over the newest `windowMs` of busy time. */
  perSecond(): number | null {
    const { windowMs } = this;
    let ms = 0;
    let decidedMs = 0;
    let places = 0;
    for (let i = this.spans.length - 1; i >= 0 && ms < windowMs; i--) {
      ms += this.spans[i].ms;
      decidedMs += this.spans[i].decidedMs;
      places += this.spans[i].places;
    }
    if (ms < this.minSpanMs) return null;
    if (places === 0) return 0;
    // Verdicts decided out of turn may make one span's interval negative; over the window they add up.
    return (places * 1000) / Math.min(4 * ms, Math.max(ms / 4, decidedMs));
  }

  /** Whether a reading's head was decided more than a window before it (or when is unknown). */
  private isStale(reading: LineReading): boolean {
    return reading.headDecidedAtMs == null || (reading.headBehindMs ?? 0) > this.windowMs;
  }

  /**
   * How long Billing took to decide the places the head moved between two readings; null when
   * the verdicts cannot tell: a time is missing, or both heads were decided more than a window
   * before their readings (the clocks are far apart, or Checkout records that late).
   */
  private decidedMsBetween(previous: LineReading, reading: LineReading): number | null {
    if (previous.headDecidedAtMs == null || reading.headDecidedAtMs == null) return null;
    if (this.isStale(previous)) return null;
    return reading.headDecidedAtMs - previous.headDecidedAtMs;
  }
}
