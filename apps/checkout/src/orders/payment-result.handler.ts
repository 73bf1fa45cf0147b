import { PaymentCaptured, PaymentDeclined, SeatsUnavailable, type Envelope, type PayloadOf } from '@boxoffice/contracts';
import { Inbox, Outcome, type HandlerOutcome, type MessageHandler } from '@boxoffice/messaging';
import { Injectable } from '@nestjs/common';
import type { Tx } from '../database.js';
import { OrdersService, type Settlement } from './orders.service.js';

type PaymentResult = PayloadOf<typeof PaymentCaptured> | PayloadOf<typeof PaymentDeclined> | PayloadOf<typeof SeatsUnavailable>;

/** Billing's verdict on an order: move it to CONFIRMED or REJECTED, once. */
@Injectable()
export class PaymentResultHandler implements MessageHandler<PaymentResult> {
  constructor(
    private readonly inbox: Inbox<Tx>,
    private readonly orders: OrdersService,
  ) {}

  async handle(message: Envelope<PaymentResult>): Promise<HandlerOutcome> {
    return this.inbox.handleOnce(message, async (tx) => {
      const order = await this.orders.settle(tx, message.payload.orderId, settlementOf(message), message);
      return order ? Outcome.done() : Outcome.deadLetter(`order ${message.payload.orderId} does not exist`);
    });
  }
}

function settlementOf(message: Envelope): Settlement {
  switch (message.type) {
    case PaymentCaptured.type:
      return { status: 'CONFIRMED' };
    case PaymentDeclined.type:
      return { status: 'REJECTED', reason: 'PAYMENT_DECLINED' };
    default:
      return { status: 'REJECTED', reason: 'SOLD_OUT' };
  }
}
