import { MessagingRuntime, PRISMA } from '@boxoffice/platform';
import { Inject, Injectable } from '@nestjs/common';
import type { PrismaClient } from '../database.js';
import { ChargeQueueDepth } from './charge-queue.depth.js';

type Status = 'PENDING' | 'CONFIRMED' | 'REJECTED';
export type OrderCounts = Record<Status, number> & { total: number };

interface Sample {
  readonly at: number;
  readonly orders: OrderCounts;
}

/** Rates are measured over at least this long, so one slow sample does not make a spike. */
const RATE_WINDOW_MS = 1_000;
/** Two readers polling at once share a sample instead of counting the orders twice. */
const FRESH_MS = 250;

/**
 * The figures of the live dashboard, from the places that hold them: the orders table (accepted,
 * settled, by status), RabbitMQ (the charge queue) and the outbox (accepted but not yet handed to
 * RabbitMQ). Nothing runs while nobody watches: each request takes a sample, and the rates are
 * the difference from the sample about a second before.
 */
@Injectable()
export class DashboardStats {
  private samples: Sample[] = [];
  private sampling: Promise<Sample> | null = null;

  constructor(
    @Inject(PRISMA) private readonly prisma: PrismaClient,
    private readonly queue: ChargeQueueDepth,
    private readonly messaging: MessagingRuntime,
  ) {}

  async read(concertId?: string) {
    const [latest, queue, outbox, concert] = await Promise.all([
      this.sample(),
      this.queue.read(),
      this.messaging.relay.stats(),
      concertId ? this.countOrders(concertId) : Promise.resolve(undefined),
    ]);
    const previous = this.samples.findLast((s) => latest.at - s.at >= RATE_WINDOW_MS) ?? this.samples[0];
    const seconds = (latest.at - previous.at) / 1_000;
    const perSecond = (now: number, before: number) => (seconds > 0 ? Math.round((now - before) / seconds) : 0);
    return {
      at: new Date(latest.at).toISOString(),
      acceptedPerSecond: perSecond(latest.orders.total, previous.orders.total),
      processedPerSecond: perSecond(settled(latest.orders), settled(previous.orders)),
      queueDepth: queue?.messages ?? null,
      queueConsumers: queue?.consumers ?? null,
      outboxPending: outbox.pending,
      orders: latest.orders,
      ...(concert ? { concert: { concertId, orders: concert } } : {}),
    };
  }

  private sample(): Promise<Sample> {
    const last = this.samples.at(-1);
    if (last && Date.now() - last.at < FRESH_MS) return Promise.resolve(last);
    this.sampling ??= this.countOrders()
      .then((orders) => {
        const sample = { at: Date.now(), orders };
        // Newest last; a few seconds of history is all a rate needs.
        this.samples = [...this.samples.filter((s) => sample.at - s.at <= 5 * RATE_WINDOW_MS), sample];
        return sample;
      })
      .finally(() => (this.sampling = null));
    return this.sampling;
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
