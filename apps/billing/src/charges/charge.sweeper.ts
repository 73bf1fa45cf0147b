import { describeError, pause } from '@boxoffice/messaging';
import { ShutdownBudget } from '@boxoffice/platform';
import { Inject, Injectable, Logger, Optional, type BeforeApplicationShutdown, type OnApplicationBootstrap } from '@nestjs/common';
import { BILLING_CONFIG, type BillingConfig } from '../billing.config.js';
import { PaymentHoldLedger } from './payment-hold.ledger.js';
import { WaitingChargeStore } from './waiting-charge.store.js';

/** Rows per statement: a round after a long provider outage works through its backlog a bounded batch at a time. */
const BATCH = 200;

/**
 * What Billing still owes after its charges committed, done in the background: the payment
 * provider's captures, voids and refunds decided (PaymentHoldLedger), and the charges
 * that waited for their concert past their charge-by declined (WaitingChargeStore.expireDue).
 * A whole round runs every BILLING_SWEEP_INTERVAL_MS; when a batch has just committed (`wake`),
 * a short one at once carries out the calls it decided, so a capture does not wait for the
 * interval, and costs a batch one transaction more. Several instances sweep at once, sharing the
 * rows (SKIP LOCKED). It stops before the database closes, after the round under way, or when the
 * consumers' share of the shutdown budget is spent: a provider call that hangs (a slow provider)
 * is abandoned, and the next round, here or on another instance, carries it out again from the
 * ledger, where the decision was committed (the provider's calls take an idempotency key).
 */
@Injectable()
export class ChargeSweeper implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger(ChargeSweeper.name);
  private readonly stopping = new AbortController();
  private running: Promise<void> | null = null;
  private waking = new AbortController();

  constructor(
    private readonly holds: PaymentHoldLedger,
    private readonly waiting: WaitingChargeStore,
    @Inject(BILLING_CONFIG) private readonly config: BillingConfig,
    @Optional() @Inject(ShutdownBudget) private readonly budget: ShutdownBudget = ShutdownBudget.unbounded(),
  ) {}

  onApplicationBootstrap(): void {
    this.running = this.run();
  }

  async beforeApplicationShutdown(): Promise<void> {
    this.stopping.abort();
    if (!(await this.budget.within('consumers', this.running ?? Promise.resolve())))
      this.logger.warn('the round of provider calls under way was abandoned at shutdown; the ledger keeps it for the next round');
  }

  /** Asks for a round now rather than at the next interval. */
  wake(): void {
    // With a reason: abort() without one builds a DOMException, and this runs after every batch.
    this.waking.abort('woken');
  }

  /** One whole round, in batches until nothing is left due: what the sweep does every interval. */
  async sweep(): Promise<void> {
    for (;;) {
      await this.holds.giveUpStale(BATCH);
      const calls = await this.holds.carryOutDecided(BATCH);
      const expired = await this.waiting.expireDue(BATCH);
      if ((calls < BATCH && expired < BATCH) || this.stopping.signal.aborted) return;
    }
  }

  /** What a batch's commit asks for: the provider's calls it decided, nothing else. */
  private async carryOut(): Promise<void> {
    let due = BATCH;
    while (due === BATCH && !this.stopping.signal.aborted) due = await this.holds.carryOutDecided(BATCH);
  }

  private async run(): Promise<void> {
    let woken = false;
    while (!this.stopping.signal.aborted) {
      if (this.waking.signal.aborted) this.waking = new AbortController();
      try {
        await (woken ? this.carryOut() : this.sweep());
      } catch (error) {
        // The database or the provider away: what is left is done in a later round.
        this.logger.warn(`a round of captures, voids and expired charges failed (${describeError(error)})`);
      }
      // A wake during the round asks for another at once; else the interval, or a wake, whichever comes first.
      woken =
        this.waking.signal.aborted ||
        (!(await pause(this.config.BILLING_SWEEP_INTERVAL_MS, AbortSignal.any([this.stopping.signal, this.waking.signal]))) &&
          !this.stopping.signal.aborted);
    }
  }
}
