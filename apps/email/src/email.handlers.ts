import { OrderConfirmed, OrderRejected, UserRegistered } from '@boxoffice/contracts';
import { NotificationMailHandler } from './notifications/notification-mail.handler.js';

/** Everything Email handles, as the `email` consumer group: a mail for each of these. It sends no messages. */
export const emailHandlers = [
  { message: UserRegistered, handler: NotificationMailHandler },
  { message: OrderConfirmed, handler: NotificationMailHandler },
  { message: OrderRejected, handler: NotificationMailHandler },
];
