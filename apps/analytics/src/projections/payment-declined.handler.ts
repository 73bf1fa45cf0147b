import type { Envelope, PayloadOf, PaymentDeclined } from '@boxoffice/contracts';
import { Inbox, Outcome, type HandlerOutcome, type MessageHandler } from '@boxoffice/messaging';
import { Injectable } from '@nestjs/common';
import { dayOf, type Tx } from '../database.js';
import { SalesProjection } from './sales.projection.js';

/** The payment provider said no: count it, once per event. */
@Injectable()
export class PaymentDeclinedHandler implements MessageHandler<PayloadOf<typeof PaymentDeclined>> {
  constructor(
    private readonly inbox: Inbox<Tx>,
    private readonly sales: SalesProjection,
  ) {}

  async handle(message: Envelope<PayloadOf<typeof PaymentDeclined>>): Promise<HandlerOutcome> {
    return this.inbox.handleOnce(message, async (tx) => {
      await this.sales.declined(tx, dayOf(message.occurredAt));
      return Outcome.done();
    });
  }
}
