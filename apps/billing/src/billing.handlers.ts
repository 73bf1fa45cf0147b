import { ChargeOrder, ConcertScheduled, RefundPayment } from '@boxoffice/contracts';
import { ChargeOrderHandler } from './charges/charge-order.handler.js';
import { RefundPaymentHandler } from './charges/refund-payment.handler.js';
import { ConcertScheduledHandler } from './inventory/concert-scheduled.handler.js';

/** Everything Billing handles: its work queue (charges, and the refund of a capture that came too late) and new concerts. */
export const billingHandlers = [
  { message: ChargeOrder, handler: ChargeOrderHandler },
  { message: RefundPayment, handler: RefundPaymentHandler },
  { message: ConcertScheduled, handler: ConcertScheduledHandler },
];
