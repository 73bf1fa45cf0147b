import { PaymentCaptured, PaymentDeclined, SeatsUnavailable, topics } from '@boxoffice/contracts';
import type { Subscription } from '@boxoffice/messaging';
import type { PaymentResultHandler } from './orders/payment-result.handler.js';

/** Everything Checkout consumes. It sends ChargeOrder, ConcertScheduled, OrderConfirmed/Rejected and UserRegistered through its outbox. */
export function checkoutSubscriptions(paymentResults: PaymentResultHandler): Subscription[] {
  return [
    {
      consumer: 'checkout',
      source: { transport: 'kafka', topic: topics.payments },
      messages: [PaymentCaptured, PaymentDeclined, SeatsUnavailable],
      handler: paymentResults,
    },
  ];
}
