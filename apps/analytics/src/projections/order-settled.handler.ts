import { OrderConfirmed, type Envelope, type OrderRejected, type PayloadOf } from '@boxoffice/contracts';
import { Inbox, Outcome, type HandlerOutcome, type MessageHandler } from '@boxoffice/messaging';
import { Injectable } from '@nestjs/common';
import { dayOf, type Tx } from '../database.js';
import { SalesProjection } from './sales.projection.js';

type Settled = PayloadOf<typeof OrderConfirmed> | PayloadOf<typeof OrderRejected>;

/** An order ended: count its tickets and revenue, or its rejection, once per event. */
@Injectable()
export class OrderSettledHandler implements MessageHandler<Settled> {
  constructor(
    private readonly inbox: Inbox<Tx>,
    private readonly sales: SalesProjection,
  ) {}

  async handle(message: Envelope<Settled>): Promise<HandlerOutcome> {
    const day = dayOf(message.occurredAt);
    return this.inbox.handleOnce(message, async (tx) => {
      if (message.type === OrderConfirmed.type) await this.sales.confirmed(tx, day, message.payload as PayloadOf<typeof OrderConfirmed>);
      else await this.sales.rejected(tx, day, message.payload as PayloadOf<typeof OrderRejected>);
      return Outcome.done();
    });
  }
}
