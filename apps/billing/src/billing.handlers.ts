import { ChargeOrder, ConcertScheduled } from '@boxoffice/contracts';
import { ChargeOrderHandler } from './charges/charge-order.handler.js';
import { ConcertScheduledHandler } from './inventory/concert-scheduled.handler.js';

/** Everything Billing handles: its work queue of charges (competing consumers) and new concerts. */
export const billingHandlers = [
  { message: ChargeOrder, handler: ChargeOrderHandler },
  { message: ConcertScheduled, handler: ConcertScheduledHandler },
];
