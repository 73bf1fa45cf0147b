import { OrderConfirmed, OrderRejected, topics, UserRegistered } from '@boxoffice/contracts';
import type { Subscription } from '@boxoffice/messaging';
import type { ApologyMailHandler } from './notifications/apology-mail.handler.js';
import type { ReceiptMailHandler } from './notifications/receipt-mail.handler.js';
import type { WelcomeMailHandler } from './notifications/welcome-mail.handler.js';

/**
 * Everything Email consumes, as the `email` consumer group: it gets its own copy of each event,
 * whatever Analytics and Audit do with theirs, and reads at its own pace. It sends nothing.
 */
export function emailSubscriptions(welcome: WelcomeMailHandler, receipt: ReceiptMailHandler, apology: ApologyMailHandler): Subscription[] {
  return [
    { consumer: 'email', source: { transport: 'kafka', topic: topics.users }, messages: [UserRegistered], handler: welcome },
    { consumer: 'email', source: { transport: 'kafka', topic: topics.orders }, messages: [OrderConfirmed], handler: receipt },
    { consumer: 'email', source: { transport: 'kafka', topic: topics.orders }, messages: [OrderRejected], handler: apology },
  ];
}
