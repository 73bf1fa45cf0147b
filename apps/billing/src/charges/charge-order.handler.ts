import type { ChargeOrder, Envelope, PayloadOf } from '@boxoffice/contracts';
import { Outcome, type BatchHandler, type BatchOutcomes, type HandlerContext, type HandlerOutcome } from '@boxoffice/messaging';
import { Injectable } from '@nestjs/common';
import type { Tx } from '../database.js';
import { ChargeJobsCounter } from './charge-jobs.counter.js';
import { ChargeService } from './charge.service.js';
import type { Authorization } from './payment-gateway.port.js';

type Charge = PayloadOf<typeof ChargeOrder>;

/**
 * Jobs from Billing's work queue: charge each order. The pipeline admits jobs at the configured
 * safe rate; the payment provider is asked for the whole batch at once before the transaction
 * (prepare), and the batch is charged set-based, so the seat rows are locked only while a few
 * statements write the lot.
 */
@Injectable()
export class ChargeOrderHandler implements BatchHandler<Charge, Tx> {
  /**
   * Holds authorized in `prepare`, by order id, kept until the order's batch commits: a run that
   * is undone and split finds them again. A hold asked for anew (the job came back for a retry)
   * replaces the old one, which goes back.
   */
  private readonly authorized = new Map<string, Promise<Authorization>>();

  constructor(
    private readonly charges: ChargeService,
    private readonly jobs: ChargeJobsCounter,
  ) {}

  async prepare(messages: ReadonlyArray<Envelope<Charge>>): Promise<void> {
    for (const [orderId, authorization] of await this.charges.authorizeAll(messages.map((m) => m.payload))) {
      this.charges.release(this.authorized.get(orderId));
      this.authorized.set(orderId, authorization);
    }
  }

  async handleBatch(messages: ReadonlyArray<Envelope<Charge>>, { tx, send }: HandlerContext<Tx>): Promise<BatchOutcomes> {
    const jobs = messages.map((m) => ({ request: m.payload, prepared: this.authorized.get(m.payload.orderId) }));
    const results = await this.charges.chargeAll(tx, jobs, send);
    const outcomes = new Map<string, HandlerOutcome>();
    // Events and commands travel separately, so an order can arrive before its concert does.
    results.forEach((result, i) => {
      if (result === null)
        outcomes.set(messages[i].id, Outcome.retry(`concert ${messages[i].payload.concertId} is not in the seat inventory yet`));
    });
    return outcomes;
  }

  afterCommit(messages: ReadonlyArray<Envelope<Charge>>): void {
    for (const m of messages) this.authorized.delete(m.payload.orderId);
    this.jobs.recordDone(messages.length);
  }
}
