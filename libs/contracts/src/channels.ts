/**
 * The names of every queue, exchange and topic, in one place. The catalog, the services'
 * subscriptions and the AsyncAPI document are built from these.
 *
 * BOXOFFICE_NAMESPACE, when set, prefixes every name (and every consumer group): two copies of
 * the system, such as two end-to-end specs running at once, then share the brokers but never
 * see each other's messages.
 */
export const namespace = process.env.BOXOFFICE_NAMESPACE ?? '';
const named = (name: string) => (namespace ? `${namespace}.${name}` : name);

export const queues = {
  /** Billing's work queue of ChargeOrder commands (competing consumers). */
  chargeOrder: named('billing.charge-order'),
} as const;

export const exchanges = {
  /** The direct exchange commands are sent to; the routing key is the queue's name. */
  commands: named('boxoffice.commands'),
} as const;

export const topics = {
  concerts: named('boxoffice.concerts'),
  orders: named('boxoffice.orders'),
  payments: named('boxoffice.payments'),
  users: named('boxoffice.users'),
} as const;

/** A service's Kafka consumer group: one per service, so every service gets every event. */
export const consumerGroup = (service: string): string => named(service);
