/**
 * The names of every queue and topic in the system, in one place. The AsyncAPI document and each
 * service's subscriptions file are built from these.
 */
export const queues = {
  /** Billing's work queue of ChargeOrder commands (competing consumers). */
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
