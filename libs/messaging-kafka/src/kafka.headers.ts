import { FailureHeaders, withoutFailure } from '@boxoffice/messaging';
import type { IHeaders } from 'kafkajs';

/**
 * Kafka's additions to the shared FailureHeaders: where in the original topic the record sat,
 * so an operator can find it there too.
 */
export const KafkaDeadLetterHeaders = {
  ...FailureHeaders,
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

/** kafkajs hands headers over as Buffers (an array if a name repeats); the last value wins. */
export function readHeaders(headers: IHeaders | undefined): Headers {
  const read: Headers = {};
  for (const [name, value] of Object.entries(headers ?? {})) {
    const last = Array.isArray(value) ? value.at(-1) : value;
    if (last !== undefined) read[name] = last.toString();
  }
  return read;
}

/** A replayed record starts afresh: same id and envelope headers, no failure history. */
export function withoutFailureHeaders(headers: Readonly<Headers>): Headers {
  return withoutFailure(headers, [KafkaDeadLetterHeaders.originalPartition, KafkaDeadLetterHeaders.originalOffset, replayedOffsetHeader]);
}
