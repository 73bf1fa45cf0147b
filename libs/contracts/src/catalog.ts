import { exchanges, queues, topics } from './channels.js';
import type { MessageDefinition, MessageKind, PayloadOf } from './message-definition.js';
import {
  ChargeOrder,
  ChargeTimedOut,
  ConcertScheduled,
  OrderConfirmed,
  OrderRejected,
  PaymentCaptured,
  PaymentDeclined,
  PaymentRefunded,
  RefundPayment,
  SeatsUnavailable,
  UserRegistered,
} from './messages.js';

export type ServiceName = 'checkout' | 'billing' | 'email' | 'analytics' | 'audit';

/**
 * One line of the message surface. Whether the channel is a queue or a topic follows from the
 * message's kind: a command goes to a work queue (exactly one consumer does it), an event to a
 * topic (every subscribing service gets a copy). Which broker carries each kind is the
 * deployment's choice (MessagingRuntime), not the catalog's.
 */
export interface CatalogEntry {
  readonly message: MessageDefinition;
  /** The queue (command) or topic (event) it travels on, by its logical name (Routing gives the one on the brokers). */
  readonly channel: string;
  /** The payload field whose value is the partition key: messages with the same key keep their order. */
  readonly keyedBy: string;
  readonly publisher: ServiceName;
  readonly consumers: ReadonlyArray<ServiceName>;
}

/** A catalog line whose `keyedBy` is checked against the message's payload. */
function entry<Definition extends MessageDefinition>(
  line: Omit<CatalogEntry, 'message' | 'keyedBy'> & {
    readonly message: Definition;
    readonly keyedBy: keyof PayloadOf<Definition> & string;
  },
): CatalogEntry {
  return line;
}

/**
 * The whole message surface of boxoffice, and the only place routing is stated: every message,
 * the channel it travels on and its key, who sends it and who receives it. The services send
 * and subscribe by message type; the AsyncAPI document (docs/asyncapi.json) follows from this.
 */
export const catalog: ReadonlyArray<CatalogEntry> = [
  entry({
    message: ConcertScheduled,
    channel: topics.concerts,
    keyedBy: 'concertId',
    publisher: 'checkout',
    consumers: ['billing', 'audit'],
  }),
  // Billing also puts a ChargeOrder back on its queue itself, when the concert it waited for arrives.
  entry({ message: ChargeOrder, channel: queues.chargeOrder, keyedBy: 'orderId', publisher: 'checkout', consumers: ['billing'] }),
  entry({ message: RefundPayment, channel: queues.chargeOrder, keyedBy: 'orderId', publisher: 'checkout', consumers: ['billing'] }),
  entry({ message: PaymentCaptured, channel: topics.payments, keyedBy: 'orderId', publisher: 'billing', consumers: ['checkout', 'audit'] }),
  entry({
    message: PaymentDeclined,
    channel: topics.payments,
    keyedBy: 'orderId',
    publisher: 'billing',
    consumers: ['checkout', 'analytics', 'audit'],
  }),
  entry({
    message: ChargeTimedOut,
    channel: topics.payments,
    keyedBy: 'orderId',
    publisher: 'billing',
    consumers: ['checkout', 'audit'],
  }),
  entry({ message: PaymentRefunded, channel: topics.payments, keyedBy: 'orderId', publisher: 'billing', consumers: ['audit'] }),
  entry({
    message: SeatsUnavailable,
    channel: topics.payments,
    keyedBy: 'orderId',
    publisher: 'billing',
    consumers: ['checkout', 'audit'],
  }),
  entry({
    message: OrderConfirmed,
    channel: topics.orders,
    keyedBy: 'orderId',
    publisher: 'checkout',
    consumers: ['email', 'analytics', 'audit'],
  }),
  entry({
    message: OrderRejected,
    channel: topics.orders,
    keyedBy: 'orderId',
    publisher: 'checkout',
    consumers: ['email', 'analytics', 'audit'],
  }),
  entry({
    message: UserRegistered,
    channel: topics.users,
    keyedBy: 'userId',
    publisher: 'checkout',
    consumers: ['email', 'analytics', 'audit'],
  }),
];

/** The direct exchange commands are published to, for brokers that route through one (RabbitMQ); its logical name, as the channels'. */
export const commandExchange = exchanges.commands;

export function entryOf(
  message: Pick<MessageDefinition, 'type' | 'version'>,
  entries: ReadonlyArray<CatalogEntry> = catalog,
): CatalogEntry {
  const found = entries.find((e) => e.message.type === message.type && e.message.version === message.version);
  if (!found) throw new Error(`${message.type} v${message.version} is not in the catalog`);
  return found;
}

/** What a service receives: its catalog lines. */
export function consumedBy(service: ServiceName, entries: ReadonlyArray<CatalogEntry> = catalog): CatalogEntry[] {
  return entries.filter((e) => e.consumers.includes(service));
}

/** What a service sends: its catalog lines. */
export function publishedBy(service: ServiceName, entries: ReadonlyArray<CatalogEntry> = catalog): CatalogEntry[] {
  return entries.filter((e) => e.publisher === service);
}

/** Every service the catalog names, senders and receivers, in catalog order: who holds an account on the brokers. */
export function servicesOf(entries: ReadonlyArray<CatalogEntry> = catalog): ServiceName[] {
  return [...new Set(entries.flatMap((e) => [e.publisher, ...e.consumers]))];
}

/** The channels of one kind of message (commands' queues, events' topics) a service sends to and reads from: what a broker must let it do. */
export function channelsOf(
  service: ServiceName,
  kind: MessageKind,
  entries: ReadonlyArray<CatalogEntry> = catalog,
): { readonly sends: string[]; readonly reads: string[] } {
  const lines = entries.filter((e) => e.message.kind === kind);
  return {
    sends: [...new Set(lines.filter((e) => e.publisher === service).map((e) => e.channel))],
    reads: [...new Set(lines.filter((e) => e.consumers.includes(service)).map((e) => e.channel))],
  };
}

/** The partition key of one message, read from the field the catalog names. */
export function keyOf(line: CatalogEntry, payload: unknown): string {
  const key = (payload as Record<string, unknown> | null)?.[line.keyedBy];
  if (typeof key !== 'string' || key === '') throw new Error(`${line.message.type} has no ${line.keyedBy} to key it by`);
  return key;
}
