import { PRISMA } from '@boxoffice/platform';
import { Inject, Injectable } from '@nestjs/common';
import type { PrismaClient } from '../database.js';
import { WaitingLine } from '../waiting-room/waiting-line.js';
import { ChargeQueueDepth } from './charge-queue.depth.js';
import { DashboardCache } from './dashboard.cache.js';

type Status = 'PENDING' | 'CONFIRMED' | 'REJECTED';
export type OrderCounts = Record<Status, number> & { total: number };

interface Sample {
  readonly at: number;
  readonly orders: OrderCounts;
}

/** What every reader gets, whichever concert it asks about. */
interface Figures {
  readonly at: string;
  readonly acceptedPerSecond: number;
  readonly processedPerSecond: number;
  readonly queueDepth: number | null;
  readonly queueConsumers: number | null;
  readonly outboxPending: number;
  readonly orders: OrderCounts;
  /** The waiting line (WaitingLine): its length, its pace, a new buyer's wait, open or closed. */
  readonly line: ReturnType<WaitingLine['summary']>;
}

/** One computation serves every reader for this long: the page polls once a second. */
const FRESH_MS = 1_000;
/** Rates are measured over at least this long, so one slow sample does not make a spike. */
const RATE_WINDOW_MS = 1_000;

/**
 * The figures of the live dashboard, from the places that hold them: the orders table (accepted,
 * settled, by status), the command broker (the charge queue) and the outbox (accepted but not yet
 * handed to the broker). Nothing runs while nobody watches, and however many watch, the figures
 * are worked out at most once a second (DashboardCache): each computation takes a sample, and the
 * rates are the difference from the sample about a second before.
 *
 * Everything is read through the service's own database client, never the outbox relay's pool:
 * that pool is sized to the relay's batches in flight, and a page polling it would hold back
 * publishing, or wait behind it while the relay is busy.
 */
@Injectable()
export class DashboardStats {
  private samples: Sample[] = [];
  private readonly figures = new DashboardCache<Figures>(FRESH_MS);
  private readonly concerts = new DashboardCache<OrderCounts>(FRESH_MS);

  constructor(
    @Inject(PRISMA) private readonly prisma: PrismaClient,
    private readonly queue: ChargeQueueDepth,
    private readonly line: WaitingLine,
  ) {}

  async read(concertId?: string) {
    const [figures, concert] = await Promise.all([
      this.figures.get('', () => this.compute()),
      concertId ? this.concerts.get(concertId, () => this.countOrders(concertId)) : Promise.resolve(undefined),
    ]);
    return { ...figures, ...(concert ? { concert: { concertId, orders: concert } } : {}) };
  }

  private async compute(): Promise<Figures> {
    const [orders, queue, outboxPending] = await Promise.all([this.countOrders(), this.queue.read(), this.outboxPending()]);
    const latest: Sample = { at: Date.now(), orders };
    // Newest last; a few seconds of history is all a rate needs.
    this.samples = [...this.samples.filter((s) => latest.at - s.at <= 5 * RATE_WINDOW_MS), latest];
    const previous = this.samples.findLast((s) => latest.at - s.at >= RATE_WINDOW_MS) ?? this.samples[0];
    const seconds = (latest.at - previous.at) / 1_000;
    const perSecond = (now: number, before: number) => (seconds > 0 ? Math.round((now - before) / seconds) : 0);
    return {
      at: new Date(latest.at).toISOString(),
      acceptedPerSecond: perSecond(latest.orders.total, previous.orders.total),
      processedPerSecond: perSecond(settled(latest.orders), settled(previous.orders)),
      queueDepth: queue?.messages ?? null,
      queueConsumers: queue?.consumers ?? null,
      outboxPending,
      orders,
      line: this.line.summary(),
    };
  }

  /** From the outbox's partial index of pending rows (the literal status lets the planner use it). */
  private async outboxPending(): Promise<number> {
    const [row] = await this.prisma.$queryRawUnsafe<Array<{ n: number }>>(
      `SELECT count(*)::int AS n FROM outbox_message WHERE status = 'pending'`,
    );
    return row.n;
  }

  private async countOrders(concertId?: string): Promise<OrderCounts> {
    const rows = await this.prisma.order.groupBy({ by: ['status'], _count: { _all: true }, where: concertId ? { concertId } : {} });
    const counts: OrderCounts = { PENDING: 0, CONFIRMED: 0, REJECTED: 0, total: 0 };
    for (const row of rows) {
      counts[row.status] = row._count._all;
      counts.total += row._count._all;
    }
    return counts;
  }
}

const settled = (orders: OrderCounts) => orders.CONFIRMED + orders.REJECTED;
