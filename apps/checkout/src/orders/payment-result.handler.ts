import {
  ChargeTimedOut,
  PaymentCaptured,
  PaymentDeclined,
  RefundPayment,
  SeatsUnavailable,
  type Envelope,
  type PayloadOf,
} from '@boxoffice/contracts';
import { Outcome, type BatchHandler, type BatchOutcomes, type HandlerContext, type HandlerOutcome } from '@boxoffice/messaging';
import { Injectable } from '@nestjs/common';
import type { Tx } from '../database.js';
import { OrderMetrics } from './order.metrics.js';
import type { Settlement } from './order.settlement.js';
import { OrdersService } from './orders.service.js';

type Captured = PayloadOf<typeof PaymentCaptured>;
type PaymentResult = Captured | PayloadOf<typeof PaymentDeclined> | PayloadOf<typeof SeatsUnavailable> | PayloadOf<typeof ChargeTimedOut>;

/** What each of Billing's verdicts means for the order. */
const settlements: Record<string, Settlement> = {
  [PaymentCaptured.type]: { status: 'CONFIRMED' },
  [PaymentDeclined.type]: { status: 'REJECTED', reason: 'PAYMENT_DECLINED' },
  [SeatsUnavailable.type]: { status: 'REJECTED', reason: 'SOLD_OUT' },
  [ChargeTimedOut.type]: { status: 'REJECTED', reason: 'TIMED_OUT' },
};

/**
 * Billing's verdicts on orders: each order to CONFIRMED or REJECTED, once, a batch with one
 * UPDATE. A capture that finds its order timed out already (the buyer was told so) is given back.
 */
@Injectable()
export class PaymentResultHandler implements BatchHandler<PaymentResult, Tx> {
  constructor(
    private readonly orders: OrdersService,
    private readonly metrics: OrderMetrics,
  ) {}

  async handleBatch(messages: ReadonlyArray<Envelope<PaymentResult>>, { tx, send }: HandlerContext<Tx>): Promise<BatchOutcomes> {
    const settled = await this.orders.settleAll(
      tx,
      messages.map((m) => ({ orderId: m.payload.orderId, settlement: settlements[m.type], decidedAt: m.occurredAt })),
      send,
    );
    const tooLate = messages.filter(
      (m): m is Envelope<Captured> => m.type === PaymentCaptured.type && settled.get(m.payload.orderId) === 'settled before',
    );
    const timedOut = await this.orders.timedOut(
      tx,
      tooLate.map((m) => m.payload.orderId),
    );
    for (const capture of tooLate.filter((m) => timedOut.has(m.payload.orderId))) {
      const { orderId, paymentId, amountCents } = capture.payload;
      send(RefundPayment, { orderId, paymentId, amountCents, reason: 'TIMED_OUT' }, { causedBy: capture });
    }
    const outcomes = new Map<string, HandlerOutcome>();
    for (const m of messages) {
      if (settled.get(m.payload.orderId) === 'unknown') outcomes.set(m.id, Outcome.deadLetter(`order ${m.payload.orderId} does not exist`));
    }
    return outcomes;
  }

  /** The verdicts that committed (an unknown order's was dead-lettered, a duplicate dropped). */
  afterCommit(messages: ReadonlyArray<Envelope<PaymentResult>>): void {
    this.metrics.settle(
      'async',
      messages.map((m) => settlements[m.type]),
    );
  }
}
