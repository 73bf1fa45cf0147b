/**
 * The names of every queue, exchange and topic, in one place: the catalog and the AsyncAPI
 * document are built from these. They are logical names, the same for every deployment; a
 * deployment that prefixes them on its brokers (BOXOFFICE_NAMESPACE, so that two copies of the
 * system share the brokers without seeing each other's messages) has Routing, in libs/messaging,
 * do it.
 */
export const queues = {
  /**
   * Billing's work queue (competing consumers): ChargeOrder commands, and the rare RefundPayment
   * of a capture that came too late. One queue, so Billing's one rate limit and its instance
   * count (the consumers on this queue) cover both.
   */
  chargeOrder: 'billing.charge-order',
} as const;

export const exchanges = {
  /** The direct exchange commands are sent to; the routing key is the queue's name. */
  commands: 'boxoffice.commands',
} as const;

export const topics = {
  concerts: 'boxoffice.concerts',
  orders: 'boxoffice.orders',
  payments: 'boxoffice.payments',
  users: 'boxoffice.users',
} as const;
