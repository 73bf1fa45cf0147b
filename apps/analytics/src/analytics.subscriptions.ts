import { OrderConfirmed, OrderRejected, PaymentDeclined, topics, UserRegistered } from '@boxoffice/contracts';
import type { Subscription } from '@boxoffice/messaging';
import type { OrderSettledHandler } from './projections/order-settled.handler.js';
import type { PaymentDeclinedHandler } from './projections/payment-declined.handler.js';
import type { UserRegisteredHandler } from './projections/user-registered.handler.js';

/**
 * Everything Analytics consumes, as the `analytics` consumer group. Several instances share the
 * group and so split the partitions: each event is counted by one of them. The payments topic
 * also carries PaymentCaptured and SeatsUnavailable, which Analytics does not subscribe to and
 * the consumer passes over.
 */
export function analyticsSubscriptions(
  userRegistered: UserRegisteredHandler,
  orderSettled: OrderSettledHandler,
  paymentDeclined: PaymentDeclinedHandler,
): Subscription[] {
  return [
    { consumer: 'analytics', source: { transport: 'kafka', topic: topics.users }, messages: [UserRegistered], handler: userRegistered },
    { consumer: 'analytics', source: { transport: 'kafka', topic: topics.orders }, messages: [OrderConfirmed, OrderRejected], handler: orderSettled },
    { consumer: 'analytics', source: { transport: 'kafka', topic: topics.payments }, messages: [PaymentDeclined], handler: paymentDeclined },
  ];
}
