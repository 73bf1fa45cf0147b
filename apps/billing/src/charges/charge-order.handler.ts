import { ChargeOrder, type Envelope, type PayloadOf } from '@boxoffice/contracts';
import { Outcome, type HandlerOutcome, type MessageContext, type MessageHandler } from '@boxoffice/messaging';
import { Injectable } from '@nestjs/common';
import type { Tx } from '../database.js';
import { ChargeJobsCounter } from './charge-jobs.counter.js';
import { ChargeService, UnknownConcertError } from './charge.service.js';
import type { Authorization } from './payment-gateway.port.js';

type Charge = PayloadOf<typeof ChargeOrder>;

/**
 * A job from Billing's work queue: charge one order. The pipeline admits jobs at the configured
 * safe rate; the payment provider is asked for the whole batch at once, before the transaction,
 * so the seat row is locked only while the charges are written.
 */
@Injectable()
export class ChargeOrderHandler implements MessageHandler<Charge, Tx> {
  private readonly authorized = new Map<string, Promise<Authorization>>();

  constructor(
    private readonly charges: ChargeService,
    private readonly jobs: ChargeJobsCounter,
  ) {}

  async prepare(messages: ReadonlyArray<Envelope<Charge>>): Promise<void> {
    for (const [id, authorization] of await this.charges.authorizeAll(messages.map((m) => ({ id: m.id, request: m.payload })))) {
      this.authorized.set(id, authorization);
    }
  }

  async handle(message: Envelope<Charge>, context: MessageContext<Tx>): Promise<HandlerOutcome> {
    const authorization = this.authorized.get(message.id);
    this.authorized.delete(message.id);
    try {
      await this.charges.charge(context.tx, message.payload, context.send, authorization);
      return Outcome.done();
    } catch (error) {
      // Events and commands travel separately, so the order can arrive before its concert does.
      if (error instanceof UnknownConcertError) return Outcome.retry(error.message);
      throw error;
    }
  }

  afterCommit(messages: ReadonlyArray<Envelope<Charge>>): void {
    this.jobs.recordDone(messages.length);
  }
}
