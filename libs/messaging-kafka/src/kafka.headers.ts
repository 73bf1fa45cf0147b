import type { Envelope } from '@boxoffice/contracts';
import { DeadLetterHeaders, type FailureRecord } from '@boxoffice/messaging';
import type { IHeaders } from 'kafkajs';

/**
 * Headers every record carries, copied from its envelope so that tools (kcat, the dlq tool, a
 * broker UI) can tell what a record is without parsing its value.
 */
export const EnvelopeHeaders = {
  messageId: 'message-id',
  type: 'type',
  version: 'version',
  correlationId: 'correlation-id',
  /** W3C trace context, under the name OpenTelemetry's Kafka propagation uses. */
  traceparent: 'traceparent',
} as const;

/**
 * Kafka's additions to the shared DeadLetterHeaders: where in the original topic the record sat,
 * so an operator can find it there too.
 */
export const KafkaDeadLetterHeaders = {
  ...DeadLetterHeaders,
  originalPartition: 'x-original-partition',
  originalOffset: 'x-original-offset',
} as const;

/**
 * Marks a record in a dead-letter topic as "the record at this offset (same partition) was
 * replayed". Kafka cannot delete one record from the middle of a log, so the dlq tool appends
 * this marker and `list` hides both. See kafka.dead-letters.ts.
 */
export const replayedOffsetHeader = 'x-replayed-offset';

export type Headers = Record<string, string>;

export function envelopeHeaders(envelope: Envelope, extra: Readonly<Headers> = {}): Headers {
  return {
    [EnvelopeHeaders.messageId]: envelope.id,
    [EnvelopeHeaders.type]: envelope.type,
    [EnvelopeHeaders.version]: String(envelope.version),
    [EnvelopeHeaders.correlationId]: envelope.correlationId,
    ...(envelope.traceparent ? { [EnvelopeHeaders.traceparent]: envelope.traceparent } : {}),
    ...extra,
  };
}

/** kafkajs hands headers over as Buffers (an array if a name repeats); the last value wins. */
export function readHeaders(headers: IHeaders | undefined): Headers {
  const read: Headers = {};
  for (const [name, value] of Object.entries(headers ?? {})) {
    const last = Array.isArray(value) ? value.at(-1) : value;
    if (last !== undefined) read[name] = last.toString();
  }
  return read;
}

/** What a record already went through, if it failed before (absent fields stay absent). */
export function failureOf(headers: Readonly<Headers>): Partial<FailureRecord> {
  const attempts = Number(headers[DeadLetterHeaders.attempts]);
  return {
    ...(Number.isInteger(attempts) && attempts > 0 ? { attempts } : {}),
    ...pick(headers, DeadLetterHeaders.lastError, 'lastError'),
    ...pick(headers, DeadLetterHeaders.firstFailureAt, 'firstFailureAt'),
    ...pick(headers, DeadLetterHeaders.lastFailureAt, 'lastFailureAt'),
  };
}

export interface DeadLetterOrigin {
  readonly topic: string;
  readonly partition: number;
  readonly offset: string;
  readonly groupId: string;
}

/**
 * The headers of a dead-letter record: the original ones (minus any stale failure record), the
 * failure, and where the record came from. `messageId` fills in the id header for a poison record
 * that was produced without one but whose id the decoder could still read.
 */
export function deadLetterHeaders(
  original: Readonly<Headers>,
  failure: FailureRecord,
  origin: DeadLetterOrigin,
  messageId: string | null,
): Headers {
  return {
    ...withoutFailureHeaders(original),
    ...(messageId && !original[EnvelopeHeaders.messageId] ? { [EnvelopeHeaders.messageId]: messageId } : {}),
    [KafkaDeadLetterHeaders.attempts]: String(failure.attempts),
    [KafkaDeadLetterHeaders.lastError]: failure.lastError,
    [KafkaDeadLetterHeaders.firstFailureAt]: failure.firstFailureAt,
    [KafkaDeadLetterHeaders.lastFailureAt]: failure.lastFailureAt,
    [KafkaDeadLetterHeaders.originalSource]: origin.topic,
    [KafkaDeadLetterHeaders.consumer]: origin.groupId,
    [KafkaDeadLetterHeaders.originalPartition]: String(origin.partition),
    [KafkaDeadLetterHeaders.originalOffset]: origin.offset,
  };
}

/** A replayed record starts afresh: same id and envelope headers, no failure history. */
export function withoutFailureHeaders(headers: Readonly<Headers>): Headers {
  const failureNames = new Set<string>([...Object.values(KafkaDeadLetterHeaders), replayedOffsetHeader]);
  return Object.fromEntries(Object.entries(headers).filter(([name]) => !failureNames.has(name)));
}

function pick<K extends keyof FailureRecord>(headers: Readonly<Headers>, name: string, as: K): Partial<FailureRecord> {
  return headers[name] === undefined ? {} : ({ [as]: headers[name] } as Partial<FailureRecord>);
}
