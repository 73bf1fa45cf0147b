import { describeError, MessageSender, pause, type Clock, type OutboxEntry } from '@boxoffice/messaging';
import { PRISMA, ShutdownBudget } from '@boxoffice/platform';
import { Inject, Injectable, Logger, Optional, type BeforeApplicationShutdown, type OnApplicationBootstrap } from '@nestjs/common';
import { CHECKOUT_CLOCK, CHECKOUT_CONFIG, type CheckoutConfig } from '../checkout.config.js';
import type { PrismaClient } from '../database.js';
import { OrderMetrics } from './order.metrics.js';
import type { Settlement } from './order.settlement.js';
import { OrdersService } from './orders.service.js';

/**
 * Orders settled per transaction: a round past a long outage holds a few hundred row locks for a
 * moment at a time, never the whole backlog in one transaction.
 */
const BATCH = 500;

const TIMED_OUT: Settlement = { status: 'REJECTED', reason: 'TIMED_OUT' };

/**
 * No order stays PENDING for ever. Every ORDER_SWEEP_INTERVAL_MS this settles the PENDING orders
 * past their deadline (`pending_until`) as REJECTED, reason TIMED_OUT, with their OrderRejected
 * in the outbox in the same transaction, as a verdict from Billing would be.
 *
 * The rows are taken FOR UPDATE SKIP LOCKED, so every Checkout instance sweeps at once without
 * two taking the same order, and an order a payment result is settling right now is left to it.
 * Whichever commits first wins: the other finds the order settled (`settleAll` moves PENDING
 * orders only). Billing never charges after the ChargeOrder's chargeBy, which is before this
 * deadline; a capture that still arrives later is refunded (PaymentResultHandler).
 */
@Injectable()
export class PendingOrderSweeper implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger(PendingOrderSweeper.name);
  private readonly stopping = new AbortController();
  private running: Promise<void> | null = null;

  constructor(
    @Inject(PRISMA) private readonly prisma: PrismaClient,
    private readonly orders: OrdersService,
    private readonly messages: MessageSender,
    private readonly metrics: OrderMetrics,
    @Inject(CHECKOUT_CONFIG) private readonly config: CheckoutConfig,
    @Inject(CHECKOUT_CLOCK) private readonly clock: Clock,
    @Optional() @Inject(ShutdownBudget) private readonly budget: ShutdownBudget = ShutdownBudget.unbounded(),
  ) {}

  onApplicationBootstrap(): void {
    this.running = this.run();
  }

  /**
   * Before the database closes: a round under way finishes its transaction, and no other starts.
   * A round stuck on an unreachable database is abandoned when the consumers' share of the
   * shutdown budget is spent; its transaction never committed, so the next round does it again.
   */
  async beforeApplicationShutdown(): Promise<void> {
    this.stopping.abort();
    if (!(await this.budget.within('consumers', this.running ?? Promise.resolve())))
      this.logger.warn('the round of overdue orders under way was abandoned at shutdown; the next round settles them');
  }

  /** Settles every order past its deadline, a batch per transaction; returns how many this call settled. */
  async sweep(): Promise<number> {
    let settled = 0;
    for (;;) {
      const { due, moved } = await this.sweepBatch();
      settled += moved;
      if (due < BATCH || this.stopping.signal.aborted) return settled;
    }
  }

  private async run(): Promise<void> {
    do {
      try {
        await this.sweep();
      } catch (error) {
        // The database away, most likely: the next round tries again.
        this.logger.warn(
          `settling orders past their deadline failed (${describeError(error)}); again in ${this.config.ORDER_SWEEP_INTERVAL_MS} ms`,
        );
      }
    } while (await pause(this.config.ORDER_SWEEP_INTERVAL_MS, this.stopping.signal));
  }

  private async sweepBatch(): Promise<{ due: number; moved: number }> {
    const result = await this.prisma.$transaction(async (tx) => {
      const due = await tx.$queryRawUnsafe<Array<{ id: string }>>(
        `SELECT id::text FROM "order" WHERE status = 'PENDING' AND pending_until <= $1::timestamptz
          ORDER BY pending_until LIMIT $2 FOR UPDATE SKIP LOCKED`,
        this.clock.now().toISOString(),
        BATCH,
      );
      if (due.length === 0) return { due: 0, moved: 0 };
      const entries: OutboxEntry[] = [];
      const outcomes = await this.orders.settleAll(
        tx,
        due.map(({ id }) => ({ orderId: id, settlement: TIMED_OUT })),
        (definition, payload) => entries.push(this.messages.entry(definition, payload)),
      );
      await this.messages.addMany(tx, entries);
      return { due: due.length, moved: [...outcomes.values()].filter((outcome) => outcome === 'settled').length };
    });
    if (result.moved > 0) {
      this.metrics.settle('async', Array<Settlement>(result.moved).fill(TIMED_OUT));
      this.logger.warn(`orders still PENDING at their deadline, settled REJECTED, TIMED_OUT: ${result.moved}`);
    }
    return result;
  }
}
