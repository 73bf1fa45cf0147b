import { ChargeOrder, ConcertScheduled, exchanges, queues, topics } from '@boxoffice/contracts';
import type { Subscription } from '@boxoffice/messaging';
import type { ChargeOrderHandler } from './charges/charge-order.handler.js';
import type { ConcertScheduledHandler } from './inventory/concert-scheduled.handler.js';

/** Everything Billing consumes: its work queue of charges (competing consumers) and new concerts. */
export function billingSubscriptions(chargeOrder: ChargeOrderHandler, concertScheduled: ConcertScheduledHandler): Subscription[] {
  return [
    {
      consumer: 'billing',
      source: { transport: 'rabbitmq', queue: queues.chargeOrder, bindings: [{ exchange: exchanges.commands, routingKey: queues.chargeOrder }] },
      messages: [ChargeOrder],
      handler: chargeOrder,
    },
    {
      consumer: 'billing',
      source: { transport: 'kafka', topic: topics.concerts },
      messages: [ConcertScheduled],
      handler: concertScheduled,
    },
  ];
}
