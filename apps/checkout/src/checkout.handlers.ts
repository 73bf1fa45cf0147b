import { ChargeTimedOut, PaymentCaptured, PaymentDeclined, SeatsUnavailable } from '@boxoffice/contracts';
import { PaymentResultHandler } from './orders/payment-result.handler.js';

/** Everything Checkout handles: Billing's verdicts on its orders. */
export const checkoutHandlers = [
  { message: PaymentCaptured, handler: PaymentResultHandler },
  { message: PaymentDeclined, handler: PaymentResultHandler },
  { message: SeatsUnavailable, handler: PaymentResultHandler },
  { message: ChargeTimedOut, handler: PaymentResultHandler },
];
