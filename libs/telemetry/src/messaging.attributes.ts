import type { Attributes } from '@opentelemetry/api';
import type { CatalogEntry, MessageDefinition, ServiceName } from '@boxoffice/contracts';

/**
 * The OpenTelemetry messaging semantic conventions' attribute names, as the spans of the outbox,
 * the relay and the consumers use them (https://opentelemetry.io/docs/specs/semconv/messaging/).
 * Spelled out here: in @opentelemetry/semantic-conventions they are still in the incubating set.
 */
export const MessagingAttributes = {
  system: 'messaging.system',
  destination: 'messaging.destination.name',
  operationType: 'messaging.operation.type',
  operationName: 'messaging.operation.name',
  messageId: 'messaging.message.id',
  conversationId: 'messaging.message.conversation_id',
  consumerGroup: 'messaging.consumer.group.name',
  partition: 'messaging.destination.partition.id',
  batchCount: 'messaging.batch.message_count',
} as const;

/** boxoffice's own, beside the conventions': what the message is and what became of it. */
export const BoxofficeAttributes = {
  messageType: 'boxoffice.message.type',
  outcome: 'boxoffice.outcome',
  outcomeReason: 'boxoffice.outcome.reason',
} as const;

/** The conventions' operation types: `create` (the outbox row), `send` (the relay), `process` (a consumer). */
export type MessagingOperation = 'create' | 'send' | 'process';

/** The `messaging.system` value of a transport, where the conventions name one. */
export function messagingSystemOf(transport: string): string {
  return transport === 'sqs' ? 'aws_sqs' : transport === 'kinesis' ? 'aws_kinesis' : transport;
}

/** A span's name by the conventions: `<operation> <destination>`, e.g. `send boxoffice.payments`. */
export function spanNameOf(operation: MessagingOperation, channel: string): string {
  return `${operation} ${channel}`;
}

export interface MessagingSpanFacts {
  readonly operation: MessagingOperation;
  readonly transport: string;
  readonly channel: string;
  readonly messageId?: string;
  readonly messageType?: string;
  readonly correlationId?: string;
  readonly consumerGroup?: string;
  readonly partition?: string | number;
  /** For a batch: how many messages it holds. */
  readonly batchCount?: number;
}

/** The attributes of a messaging span, with those that do not apply left out. */
export function messagingAttributes(facts: MessagingSpanFacts): Attributes {
  const attributes: Attributes = {
    [MessagingAttributes.system]: messagingSystemOf(facts.transport),
    [MessagingAttributes.destination]: facts.channel,
    [MessagingAttributes.operationType]: facts.operation,
    [MessagingAttributes.operationName]: facts.operation,
  };
  if (facts.messageId !== undefined) attributes[MessagingAttributes.messageId] = facts.messageId;
  if (facts.correlationId !== undefined) attributes[MessagingAttributes.conversationId] = facts.correlationId;
  if (facts.messageType !== undefined) attributes[BoxofficeAttributes.messageType] = facts.messageType;
  if (facts.consumerGroup !== undefined) attributes[MessagingAttributes.consumerGroup] = facts.consumerGroup;
  if (facts.partition !== undefined) attributes[MessagingAttributes.partition] = String(facts.partition);
  if (facts.batchCount !== undefined) attributes[MessagingAttributes.batchCount] = facts.batchCount;
  return attributes;
}

/**
 * Whether a consumer's process span continues the message's trace (its parent is the message's
 * context) or starts a new one linked to it, as the messaging conventions advise:
 * - a command (point to point) continues: one service asked exactly one other to do it;
 * - an event that answers a command the consumer itself sent continues too: Billing's payment
 *   result coming back to Checkout, which asked for the charge, is the same conversation;
 * - any other event is a fan-out to subscribers, each of which starts a trace of its own, linked
 *   to the message's creation, so one sign-up does not grow one trace across every subscriber.
 */
export function continuesTrace(
  message: Pick<MessageDefinition, 'type' | 'version' | 'kind'>,
  consumer: ServiceName,
  catalog: ReadonlyArray<CatalogEntry>,
): boolean {
  if (message.kind === 'command') return true;
  const line = catalog.find((e) => e.message.type === message.type && e.message.version === message.version);
  if (!line) return false;
  return catalog.some((e) => e.message.kind === 'command' && e.publisher === consumer && e.consumers.includes(line.publisher));
}
