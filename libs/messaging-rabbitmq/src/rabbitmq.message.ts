import type { Message, Options } from 'amqplib';
import type { Envelope } from '@boxoffice/contracts';
import { DeadLetterHeaders, type FailureRecord } from '@boxoffice/messaging';

export type Headers = Record<string, unknown>;

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
export function copyOptionsOf(message: Message, headers: Headers): Options.Publish {
  const { messageId, type, correlationId, timestamp, contentType } = message.properties;
  return { persistent: true, contentType, messageId, type, correlationId, timestamp, headers };
}

/**
 * The headers to carry over to a copy. RabbitMQ's own dead-lettering history (`x-death`, added
 * each time a message expires out of a delay queue) is dropped: our headers count the attempts,
 * and RabbitMQ 4.x ignores `x-death` set by a publisher anyway.
 */
export function carriedHeaders(headers: Headers | undefined): Headers {
  const carried: Headers = {};
  for (const [name, value] of Object.entries(headers ?? {})) {
    if (name === 'x-death' || name.startsWith('x-first-death-') || name.startsWith('x-last-death-')) continue;
    carried[name] = value;
  }
  return carried;
}

const failureHeaderNames = new Set<string>(Object.values(DeadLetterHeaders));

/** The headers of a message as it was before it ever failed: what replay sends back. */
export function withoutFailureHeaders(headers: Headers | undefined): Headers {
  return Object.fromEntries(Object.entries(carriedHeaders(headers)).filter(([name]) => !failureHeaderNames.has(name)));
}

/** The failure record a message carries; empty on a first delivery. */
export function readFailureRecord(headers: Headers | undefined): Partial<FailureRecord> {
  const h = headers ?? {};
  const attempts = Number(h[DeadLetterHeaders.attempts]);
  return {
    attempts: Number.isInteger(attempts) && attempts > 0 ? attempts : undefined,
    lastError: text(h[DeadLetterHeaders.lastError]),
    firstFailureAt: text(h[DeadLetterHeaders.firstFailureAt]),
    lastFailureAt: text(h[DeadLetterHeaders.lastFailureAt]),
  };
}

/** The failure headers set on a copy that is retried or dead-lettered. */
export function failureHeaders(record: FailureRecord, originalSource: string, consumer: string): Headers {
  return {
    [DeadLetterHeaders.attempts]: record.attempts,
    [DeadLetterHeaders.lastError]: record.lastError,
    [DeadLetterHeaders.firstFailureAt]: record.firstFailureAt,
    [DeadLetterHeaders.lastFailureAt]: record.lastFailureAt,
    [DeadLetterHeaders.originalSource]: originalSource,
    [DeadLetterHeaders.consumer]: consumer,
  };
}

// A header string comes back as a Buffer when another client wrote it as a byte array.
function text(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  return Buffer.isBuffer(value) ? value.toString('utf8') : undefined;
}
