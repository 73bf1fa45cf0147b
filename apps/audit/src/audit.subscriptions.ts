import {
  ConcertScheduled,
  OrderConfirmed,
  OrderRejected,
  PaymentCaptured,
  PaymentDeclined,
  SeatsUnavailable,
  topics,
  UserRegistered,
} from '@boxoffice/contracts';
import type { Subscription } from '@boxoffice/messaging';
import type { EventRecordedHandler } from './trail/event-recorded.handler.js';

/** Everything Audit consumes: every event on every topic, as the `audit` consumer group. */
export function auditSubscriptions(recorder: EventRecordedHandler): Subscription[] {
  const everything = (topic: string, messages: Subscription['messages']): Subscription => ({
    consumer: 'audit',
    source: { transport: 'kafka', topic },
    messages,
    handler: recorder.forTopic(topic),
  });
  return [
    everything(topics.concerts, [ConcertScheduled]),
    everything(topics.orders, [OrderConfirmed, OrderRejected]),
    everything(topics.payments, [PaymentCaptured, PaymentDeclined, SeatsUnavailable]),
    everything(topics.users, [UserRegistered]),
  ];
}
