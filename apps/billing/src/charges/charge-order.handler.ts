import type { ChargeOrder, Envelope, PayloadOf } from '@boxoffice/contracts';
import { Outcome, type BatchHandler, type BatchOutcomes, type HandlerContext } from '@boxoffice/messaging';
import { Inject, Injectable } from '@nestjs/common';
import { BILLING_CONFIG, type BillingConfig } from '../billing.config.js';
import type { Tx } from '../database.js';
import { ChargeJobsCounter } from './charge-jobs.counter.js';
import { ChargeService, type ChargeJob } from './charge.service.js';
import { ChargeSweeper } from './charge.sweeper.js';
import { WaitingChargeStore } from './waiting-charge.store.js';

type Charge = PayloadOf<typeof ChargeOrder>;

/**
 * Jobs from Billing's work queue: charge each order. The pipeline admits jobs at the configured
 * safe rate; the payment provider is asked for the whole batch at once before the transaction
 * (prepare: holds recorded in PaymentHoldLedger, so whichever attempt or instance charges an
 * order finds them), and the batch is charged set-based, so the seat rows are locked only while a
 * few statements write the lot. A job whose concert is not known yet waits for it.
 */
@Injectable()
export class ChargeOrderHandler implements BatchHandler<Charge, Tx> {
  constructor(
    private readonly charges: ChargeService,
    private readonly waiting: WaitingChargeStore,
    private readonly sweeper: ChargeSweeper,
    private readonly jobs: ChargeJobsCounter,
    @Inject(BILLING_CONFIG) private readonly config: BillingConfig,
  ) {}

  async prepare(messages: ReadonlyArray<Envelope<Charge>>): Promise<void> {
    await this.charges.prepareAll(messages.map((m) => this.jobOf(m)));
  }

  async handleBatch(messages: ReadonlyArray<Envelope<Charge>>, { tx, send }: HandlerContext<Tx>): Promise<BatchOutcomes> {
    const jobs = messages.map((m) => this.jobOf(m));
    const results = await this.charges.chargeAll(tx, jobs, send);
    // Events and commands travel separately, so an order can arrive before its concert does: it
    // waits for it (until its charge-by), done here. One whose concert came meanwhile goes round again.
    const arrived = await this.waiting.park(
      tx,
      messages.flatMap((command, i) => (results[i] === null ? [{ command, chargeBy: jobs[i].chargeBy }] : [])),
    );
    return new Map(arrived.map(({ command }) => [command.id, Outcome.retry(`concert ${command.payload.concertId} arrived meanwhile`)]));
  }

  /** The batch committed: its holds are due at the provider now, not at the next sweep. */
  afterCommit(messages: ReadonlyArray<Envelope<Charge>>): void {
    this.jobs.recordDone(messages.length);
    this.sweeper.wake();
  }

  /** A command without a chargeBy (sent before the field existed) gets the default, from when it was sent. */
  private jobOf(message: Envelope<Charge>): ChargeJob & { readonly chargeBy: Date } {
    const chargeBy =
      message.payload.chargeBy ?? new Date(Date.parse(message.occurredAt) + this.config.CHARGE_DEADLINE_DEFAULT_MS).toISOString();
    return { request: message.payload, chargeBy: new Date(chargeBy) };
  }
}
