import { exchanges, queues, topics } from './channels.js';
import type { MessageDefinition } from './message-definition.js';
import {
  ChargeOrder,
  ConcertScheduled,
  OrderConfirmed,
  OrderRejected,
  PaymentCaptured,
  PaymentDeclined,
  SeatsUnavailable,
  UserRegistered,
} from './messages.js';

export type ServiceName = 'checkout' | 'billing' | 'email' | 'analytics' | 'audit';

/** A command goes through an exchange into one work queue; exactly one consumer does it. */
export interface QueueRoute {
  readonly transport: 'rabbitmq';
  readonly exchange: string;
  readonly queue: string;
}

/** An event goes to a topic, partitioned by a key that keeps one entity's events in order. */
export interface TopicRoute {
  readonly transport: 'kafka';
  readonly topic: string;
  readonly keyedBy: string;
}

export interface CatalogEntry {
  readonly message: MessageDefinition;
  readonly route: QueueRoute | TopicRoute;
  readonly publisher: ServiceName;
  readonly consumers: ReadonlyArray<ServiceName>;
}

const commandQueue = (queue: string): QueueRoute => ({ transport: 'rabbitmq', exchange: exchanges.commands, queue });
const topic = (name: string, keyedBy: string): TopicRoute => ({ transport: 'kafka', topic: name, keyedBy });

/**
 * The whole message surface of boxoffice: every message, where it travels, who sends it and who
 * receives it. The services' subscriptions and the AsyncAPI document (docs/asyncapi.json) follow it.
 */
export const catalog: ReadonlyArray<CatalogEntry> = [
  { message: ConcertScheduled, route: topic(topics.concerts, 'concertId'), publisher: 'checkout', consumers: ['billing', 'audit'] },
  { message: ChargeOrder, route: commandQueue(queues.chargeOrder), publisher: 'checkout', consumers: ['billing'] },
  { message: PaymentCaptured, route: topic(topics.payments, 'orderId'), publisher: 'billing', consumers: ['checkout', 'audit'] },
  {
    message: PaymentDeclined,
    route: topic(topics.payments, 'orderId'),
    publisher: 'billing',
    consumers: ['checkout', 'analytics', 'audit'],
  },
  { message: SeatsUnavailable, route: topic(topics.payments, 'orderId'), publisher: 'billing', consumers: ['checkout', 'audit'] },
  {
    message: OrderConfirmed,
    route: topic(topics.orders, 'orderId'),
    publisher: 'checkout',
    consumers: ['email', 'analytics', 'audit'],
  },
  {
    message: OrderRejected,
    route: topic(topics.orders, 'orderId'),
    publisher: 'checkout',
    consumers: ['email', 'analytics', 'audit'],
  },
  {
    message: UserRegistered,
    route: topic(topics.users, 'userId'),
    publisher: 'checkout',
    consumers: ['email', 'analytics', 'audit'],
  },
];

export function routeOf(message: MessageDefinition): QueueRoute | TopicRoute {
  const entry = catalog.find((e) => e.message === message);
  if (!entry) throw new Error(`${message.type} v${message.version} is not in the catalog`);
  return entry.route;
}
