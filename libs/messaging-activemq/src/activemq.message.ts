import type { Envelope } from '@boxoffice/contracts';
import { FailureHeaders } from '@boxoffice/messaging';
import type { Message } from 'rhea-promise';

/**
 * An envelope as an AMQP 1.0 message: the JSON in one data section, its identity where Artemis'
 * console and `artemis queue stat` show it (message-id, subject = type, correlation-id,
 * creation-time), durable so a broker restart keeps it, and the transport headers as
 * application properties, which Artemis filters and browses like JMS properties.
 */
export function messageFor(envelope: Envelope, headers: Readonly<Record<string, string>> = {}): Message {
  return {
    message_id: envelope.id,
    durable: true,
    content_type: 'application/json',
    subject: envelope.type,
    correlation_id: envelope.correlationId,
    creation_time: new Date(envelope.occurredAt),
    application_properties: envelope.traceparent ? { traceparent: envelope.traceparent, ...headers } : { ...headers },
    body: Buffer.from(JSON.stringify(envelope)),
  };
}

/**
 * A copy of a delivered message (to its dead letter queue, or back to its queue on replay):
 * same identity and body, these application properties. Nothing the broker added (delivery
 * count, its annotations) is carried over.
 */
export function copyOf(message: Message, properties: Readonly<Record<string, string>>): Message {
  return {
    message_id: message.message_id,
    durable: true,
    content_type: message.content_type,
    subject: message.subject,
    correlation_id: message.correlation_id,
    creation_time: message.creation_time,
    application_properties: { ...properties },
    body: bodyOf(message),
  };
}

/** The application properties, as strings: what the message carried, nothing of the broker's. */
export function propertiesOf(message: Message): Record<string, string> {
  const properties: Record<string, string> = {};
  for (const [name, value] of Object.entries((message.application_properties ?? {}) as Record<string, unknown>)) {
    if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') properties[name] = String(value);
    else if (Buffer.isBuffer(value)) properties[name] = value.toString('utf8');
  }
  return properties;
}

/**
 * A delivery's headers as the pipeline reads them. The attempt count is the broker's: AMQP's
 * `delivery_count`, the number of earlier deliveries that failed (a `modified` with
 * delivery-failed, or a consumer that went away holding it). It replaces any `x-attempts` the
 * message carried, so the pipeline's attempt n is the broker's delivery n.
 */
export function headersOf(message: Message): Record<string, string> {
  const { [FailureHeaders.attempts]: _carried, ...headers } = propertiesOf(message);
  const deliveryCount = Number(message.delivery_count ?? 0);
  return deliveryCount > 0 ? { ...headers, [FailureHeaders.attempts]: String(deliveryCount) } : headers;
}

/** The bytes of the message's body: one data section (ours), a string, or an AMQP value as JSON. */
export function bodyOf(message: Message): Buffer | string {
  const body: unknown = message.body;
  if (Buffer.isBuffer(body) || typeof body === 'string') return body;
  if (body && typeof body === 'object' && 'content' in body && Buffer.isBuffer((body as { content: unknown }).content)) {
    return (body as { content: Buffer }).content;
  }
  return JSON.stringify(body ?? null);
}

/** The AMQP message id, or, for a message someone sent without one, its envelope's id. */
export function messageIdOf(message: Message): string | null {
  if (message.message_id !== undefined && message.message_id !== null) return String(message.message_id);
  try {
    const id = (JSON.parse(bodyOf(message).toString()) as { id?: unknown }).id;
    return typeof id === 'string' ? id : null;
  } catch {
    return null;
  }
}

/** Where Artemis says a message it dead-lettered itself came from (`x-opt-ORIG-QUEUE`). */
export function originalQueueOf(message: Message): string | undefined {
  const queue = (message.message_annotations as Record<string, unknown> | undefined)?.['x-opt-ORIG-QUEUE'];
  return typeof queue === 'string' ? queue : undefined;
}
