import type { Message, MessageProperties, Options } from 'amqplib';
import type { Envelope } from '@boxoffice/contracts';

/**
 * The AMQP properties of a message: the envelope's identity is repeated where RabbitMQ tools show
 * it (`messageId`, `type`, `correlationId`), and persistent so a broker restart keeps it.
 */
export function publishOptionsFor(envelope: Envelope, headers: Readonly<Record<string, string>> = {}): Options.Publish {
  return {
    persistent: true,
    contentType: 'application/json',
    messageId: envelope.id,
    type: envelope.type,
    correlationId: envelope.correlationId,
    // AMQP timestamps are whole seconds.
    timestamp: Math.floor(Date.parse(envelope.occurredAt) / 1_000),
    headers: envelope.traceparent ? { traceparent: envelope.traceparent, ...headers } : { ...headers },
  };
}

/**
 * The properties of a copy of a delivered message (to a retry queue, the dead letter queue or
 * back to its queue on replay): same identity and body, new headers. Deliberately no
 * `expiration`: a copy only expires where the caller says so.
 */
export function copyOptionsOf(message: Pick<Message, 'properties'>, headers: Readonly<Record<string, string>>): Options.Publish {
  const { messageId, type, correlationId, timestamp, contentType } = message.properties as MessageProperties;
  return { persistent: true, contentType, messageId, type, correlationId, timestamp, headers: { ...headers } };
}

/**
 * A delivery's headers as the pipeline reads them: strings only. RabbitMQ's own headers are
 * dropped, so no copy carries them to another queue: its dead-lettering history (`x-death`, added
 * each time a message expires out of a delay queue; our failure headers count the attempts, and
 * RabbitMQ 4.x ignores `x-death` set by a publisher) and a quorum queue's delivery counts, which
 * belong to the queue that counted them.
 */
export function headersOf(message: Pick<Message, 'properties'>): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(message.properties.headers ?? {})) {
    if (isBrokerHeader(name)) continue;
    // A string comes back as a Buffer when another client wrote it as a byte array.
    if (Buffer.isBuffer(value)) headers[name] = value.toString('utf8');
    else if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') headers[name] = String(value);
  }
  return headers;
}

/** The AMQP message id, or, for a message someone published without one, its envelope's id. */
export function messageIdOf(message: Message): string | null {
  if (message.properties.messageId) return String(message.properties.messageId);
  try {
    const id = (JSON.parse(message.content.toString()) as { id?: unknown }).id;
    return typeof id === 'string' ? id : null;
  } catch {
    return null;
  }
}

function isBrokerHeader(name: string): boolean {
  return (
    name === 'x-death' ||
    name.startsWith('x-first-death-') ||
    name.startsWith('x-last-death-') ||
    name === 'x-delivery-count' ||
    name === 'x-acquired-count'
  );
}

/** The last time RabbitMQ dead-lettered a message itself: from which queue, why, and when. */
export interface BrokerDeath {
  readonly queue: string;
  /** RabbitMQ's word: `delivery_limit`, `expired`, `rejected`, `maxlen`. */
  readonly reason: string;
  /** ISO time, when the broker stamped it. */
  readonly at: string | null;
}

/**
 * RabbitMQ's latest entry in a message's `x-death` (the array puts the most recent first), or
 * null for a message the broker never dead-lettered. `x-first-death-*` would name the first
 * death, which for a message that once waited in a delay queue is that queue's expiry.
 */
export function lastDeathOf(message: Pick<Message, 'properties'>): BrokerDeath | null {
  const deaths: unknown = message.properties.headers?.['x-death'];
  if (!Array.isArray(deaths) || deaths.length === 0) return null;
  const latest = deaths[0] as Record<string, unknown>;
  const queue = textOf(latest.queue);
  const reason = textOf(latest.reason);
  if (!queue || !reason) return null;
  return { queue, reason, at: timeOf(latest.time) };
}

function textOf(value: unknown): string | null {
  if (typeof value === 'string') return value;
  return Buffer.isBuffer(value) ? value.toString('utf8') : null;
}

/** An AMQP timestamp (whole seconds), as amqplib decodes it inside a table: `{ '!': 'timestamp', value }`, or a Date. */
function timeOf(value: unknown): string | null {
  if (value instanceof Date) return value.toISOString();
  const seconds = typeof value === 'number' ? value : (value as { value?: unknown } | null)?.value;
  return typeof seconds === 'number' ? new Date(seconds * 1_000).toISOString() : null;
}
