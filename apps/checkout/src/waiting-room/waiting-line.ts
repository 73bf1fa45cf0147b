import { PRISMA } from '@boxoffice/platform';
import { Inject, Injectable, Logger, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import { CHECKOUT_CONFIG, type CheckoutConfig } from '../checkout.config.js';
import type { PrismaClient } from '../database.js';
import { DRAIN_WINDOW_MS, DrainRate } from './drain-rate.js';

/** Where a buyer stands: orders accepted before theirs still unsettled, and when they will know. */
export interface PlaceInLine {
  readonly position: number;
  /** Seconds until the outcome at the rate the line moved lately; null while that is unknown. */
  readonly estimatedWaitSeconds: number | null;
}

/** The line is too long to join: try again after this. */
export interface LineClosed {
  readonly retryAfterSeconds: number;
  readonly estimatedWaitSeconds: number;
}

/**
 * The line every accepted order joins (the waiting room). Each order takes the next number as it
 * is accepted (the `line_number` sequence); the line's head is the highest number settled. Both
 * are read every WAITING_LINE_REFRESH_MS with one query that costs the same with ten orders
 * waiting or a million (a sequence's last value and a backward scan of an index of settled orders),
 * and kept here: a buyer's place is their number against the head, in memory, never a count.
 *
 * Billing charges in roughly the order orders were accepted, so the head passes a buyer about when
 * their turn comes; an order settled out of turn only makes the head jump a little ahead. A
 * position never goes up: the head only moves forward.
 *
 * The same figures close the line (FrontDoor): a new buyer who would wait longer than
 * MAX_WAIT_SECONDS at the rate the line moves is turned away with 503 and Retry-After, without a
 * query: the line is closed, not broken. An order in a longer line would risk its own deadline.
 */
@Injectable()
export class WaitingLine implements OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger(WaitingLine.name);
  private head = 0;
  private tail = 0;
  private readonly rate = new DrainRate();
  /**
   * How far the head's verdict lay behind the last refresh that moved it, in seconds: Checkout
   * still recording what Billing decided that long ago, so Billing is that much further down the
   * line than the head says. Kept while the head is still (an estimate does not flicker between
   * refreshes), and at most DrainRate's window, so that two hosts' clocks apart cannot shrink an
   * estimate further.
   */
  private behindSeconds = 0;
  private timer: NodeJS.Timeout | undefined;
  private readonly listeners = new Set<() => void>();
  /** Whether the last refresh failed: a database away is said once, and its return once. */
  private unreadable = false;

  constructor(
    @Inject(PRISMA) private readonly prisma: PrismaClient,
    @Inject(CHECKOUT_CONFIG) private readonly config: CheckoutConfig,
  ) {}

  async onModuleInit(): Promise<void> {
    await this.refresh();
    this.timer = setInterval(() => void this.refresh(), this.config.WAITING_LINE_REFRESH_MS).unref();
  }

  onModuleDestroy(): void {
    clearInterval(this.timer);
  }

  /** Calls `listener` after each refresh of the line (OrderUpdates pushes positions then). */
  onRefresh(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** The highest number settled: every order numbered above it is still in line. */
  get settledUpTo(): number {
    return this.head;
  }

  /** An order this instance just accepted: its place, the tail counting it before the next refresh. */
  join(lineNumber: number): PlaceInLine {
    this.tail = Math.max(this.tail, lineNumber);
    return this.placeOf(lineNumber);
  }

  placeOf(lineNumber: number): PlaceInLine {
    const position = Math.max(0, lineNumber - this.head - 1);
    return { position, estimatedWaitSeconds: this.secondsFor(position + 1) };
  }

  /** Null while a new buyer may join; otherwise how long they would wait and when to come back. */
  closed(): LineClosed | null {
    const { MAX_WAIT_SECONDS, ORDER_PENDING_DEADLINE_MS, ORDER_CHARGE_MARGIN_MS } = this.config;
    // Never longer than the time Billing has to charge the last buyer in line.
    const maxWaitSeconds = Math.min(MAX_WAIT_SECONDS, (ORDER_PENDING_DEADLINE_MS - ORDER_CHARGE_MARGIN_MS) / 1000);
    if (this.tail <= this.head) return null;
    // Decided on the very estimate the buyer would be given on joining (behind everyone in line
    // now, at the pace the line moved lately), so that an admitted buyer is never told a wait
    // above the limit. While the pace is unknown, or the line has stopped, the line stays open.
    const wait = this.secondsFor(this.tail - this.head + 1);
    if (wait === null || wait <= maxWaitSeconds) return null;
    return { estimatedWaitSeconds: wait, retryAfterSeconds: Math.max(1, Math.ceil(wait - maxWaitSeconds)) };
  }

  /** The line as the dashboard shows it: how long, how fast it moves, what a new buyer would wait, whether it is open. */
  summary() {
    const perSecond = this.rate.perSecond();
    return {
      length: Math.max(0, this.tail - this.head),
      drainPerSecond: perSecond === null ? null : Math.round(perSecond),
      estimatedWaitSeconds: this.secondsFor(this.tail - this.head),
      open: this.closed() === null,
    };
  }

  private secondsFor(places: number): number | null {
    const perSecond = this.rate.perSecond();
    if (places <= 0) return 0;
    if (!perSecond) return null;
    return Math.max(1, Math.ceil(places / perSecond - this.behindSeconds));
  }

  private async refresh(): Promise<void> {
    try {
      const [line] = await this.prisma.$queryRaw<Array<{ head: number | null; decided_at: Date | null; tail: number }>>`
        SELECT settled.line_number::float8 AS head, settled.decided_at,
               (SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM order_line_number_seq)::float8 AS tail
          FROM (SELECT 1) AS one
          LEFT JOIN LATERAL (
            SELECT line_number, decided_at FROM "order" WHERE status <> 'PENDING' AND line_number IS NOT NULL
             ORDER BY line_number DESC LIMIT 1) AS settled ON true`;
      const moved = (line.head ?? 0) > this.head;
      this.head = Math.max(this.head, line.head ?? 0);
      this.tail = Math.max(this.tail, line.tail);
      const headDecidedAtMs = line.decided_at?.getTime() ?? null;
      const headBehindMs = headDecidedAtMs === null ? 0 : Math.max(0, Date.now() - headDecidedAtMs);
      if (moved) this.behindSeconds = Math.min(headBehindMs, DRAIN_WINDOW_MS) / 1000;
      this.rate.record({ atMs: performance.now(), head: this.head, tail: this.tail, headDecidedAtMs, headBehindMs });
      if (this.unreadable) this.logger.log('the line can be read again');
      this.unreadable = false;
    } catch (error) {
      // The database is away for a moment: the line keeps its last figures until it is back.
      if (!this.unreadable) this.logger.warn(`could not read the line, keeping its last figures: ${(error as Error).message}`);
      this.unreadable = true;
      return;
    }
    for (const listener of this.listeners) listener();
  }
}
