/**
 * The names of every queue, exchange and topic, in one place. The catalog, the services'
 * subscriptions and the AsyncAPI document are built from these.
 *
 * BOXOFFICE_NAMESPACE, when set, prefixes every name (and every consumer group): two copies of
 * the system, such as two end-to-end specs running at once, then share the brokers but never
 * see each other's messages.
 */
export const namespace = process.env.BOXOFFICE_NAMESPACE ?? '';

/** Every name under one namespace: this process's below, another system's for tools and tests. */
export function channelNames(namespace: string) {
  const named = (name: string) => (namespace ? `${namespace}.${name}` : name);
  return {
    queues: {
      /** Billing's work queue of ChargeOrder commands (competing consumers). */
      chargeOrder: named('billing.charge-order'),
    },
    exchanges: {
      /** The direct exchange commands are sent to; the routing key is the queue's name. */
      commands: named('boxoffice.commands'),
    },
    topics: {
      concerts: named('boxoffice.concerts'),
      orders: named('boxoffice.orders'),
      payments: named('boxoffice.payments'),
      users: named('boxoffice.users'),
    },
    /** A service's Kafka consumer group: one per service, so every service gets every event. */
    consumerGroup: (service: string): string => named(service),
  } as const;
}

export const { queues, exchanges, topics, consumerGroup } = channelNames(namespace);
