import { PaymentCaptured, PaymentDeclined, SeatsUnavailable, type Envelope, type PayloadOf } from '@boxoffice/contracts';
import { Outcome, type HandlerOutcome, type MessageContext, type MessageHandler } from '@boxoffice/messaging';
import { Injectable } from '@nestjs/common';
import type { Tx } from '../database.js';
import { OrdersService, type Settlement } from './orders.service.js';

type PaymentResult = PayloadOf<typeof PaymentCaptured> | PayloadOf<typeof PaymentDeclined> | PayloadOf<typeof SeatsUnavailable>;

/** What each of Billing's verdicts means for the order. */
const settlements: Record<string, Settlement> = {
  [PaymentCaptured.type]: { status: 'CONFIRMED' },
  [PaymentDeclined.type]: { status: 'REJECTED', reason: 'PAYMENT_DECLINED' },
  [SeatsUnavailable.type]: { status: 'REJECTED', reason: 'SOLD_OUT' },
};

/** Billing's verdict on an order: move it to CONFIRMED or REJECTED, once. */
@Injectable()
export class PaymentResultHandler implements MessageHandler<PaymentResult, Tx> {
  constructor(private readonly orders: OrdersService) {}

  async handle(message: Envelope<PaymentResult>, context: MessageContext<Tx>): Promise<HandlerOutcome> {
    const order = await this.orders.settle(context.tx, message.payload.orderId, settlements[message.type], context.send);
    return order ? Outcome.done() : Outcome.deadLetter(`order ${message.payload.orderId} does not exist`);
  }
}
