import type { Message, MessageAttributeValue } from '@aws-sdk/client-sqs';
import { createHash } from 'node:crypto';
import { chunksWithin, EnvelopeHeaders, FailureHeaders, type InboundMessage, type RequestLimits } from '@boxoffice/messaging';

/**
 * The one message attribute boxoffice uses. SQS allows 10 attributes per message and counts them
 * toward its 256 KB, and our headers (the envelope's identity, trace context, a dead letter's
 * failure record) can be more than 10, so they travel together as one JSON object.
 */
export const HEADERS_ATTRIBUTE = 'boxoffice-headers';

/** The SQS-only header a dead letter carries: the MessageGroupId (the key) to give it back on replay. */
export const GROUP_HEADER = 'x-sqs-message-group';

/** SQS's limit on a message, and on all ten of a batch together: body plus attributes. */
export const MAX_BATCH_BYTES = 256 * 1024;
export const MAX_BATCH_ENTRIES = 10;

/** What the consumer asks SQS for with each message. */
export const RECEIVE_ATTRIBUTES = ['ApproximateReceiveCount', 'ApproximateFirstReceiveTimestamp', 'MessageGroupId'] as const;

export type Headers = Record<string, string>;

export function packHeaders(headers: Readonly<Headers>): Record<string, MessageAttributeValue> {
  return { [HEADERS_ATTRIBUTE]: { DataType: 'String', StringValue: JSON.stringify(headers) } };
}

/** The headers a message carries; a missing or broken attribute (a message sent by hand) reads as none. */
export function unpackHeaders(message: Pick<Message, 'MessageAttributes'>): Headers {
  const packed = message.MessageAttributes?.[HEADERS_ATTRIBUTE]?.StringValue;
  if (!packed) return {};
  try {
    const parsed = JSON.parse(packed) as unknown;
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return {};
    return Object.fromEntries(Object.entries(parsed).filter((entry): entry is [string, string] => typeof entry[1] === 'string'));
  } catch {
    return {};
  }
}

/**
 * A received message as the pipeline reads it. A retry is the same SQS message made visible
 * again (the visibility timeout is the backoff), so it carries no new failure headers: its
 * attempts so far are SQS's receive count minus one, less the receives this consumer spent
 * holding it behind an earlier message of its key (`heldReceives`), and its first failure came
 * soon after its first receive.
 */
export function inboundOf(message: Message, heldReceives = 0): InboundMessage {
  const { [FailureHeaders.attempts]: _attempts, ...headers } = unpackHeaders(message);
  const receives = Number(message.Attributes?.ApproximateReceiveCount ?? 1);
  const attempts = receives - 1 - heldReceives;
  if (attempts > 0) {
    headers[FailureHeaders.attempts] = String(attempts);
    const firstReceive = Number(message.Attributes?.ApproximateFirstReceiveTimestamp);
    if (!headers[FailureHeaders.firstFailureAt] && Number.isFinite(firstReceive))
      headers[FailureHeaders.firstFailureAt] = new Date(firstReceive).toISOString();
  }
  return { body: message.Body ?? null, headers };
}

/**
 * A FIFO message group id: the key itself where SQS allows it (1 to 128 printable ASCII
 * characters), else a hash of it, so the same key always lands in the same group.
 */
export function groupIdOf(key: string): string {
  if (/^[\x21-\x7e]{1,128}$/.test(key)) return key;
  return createHash('sha256').update(key).digest('hex');
}

/** What one entry counts toward SQS's size limit: its body and its attributes' names, types and values. */
export function sizeOfEntry(body: string, attributes: Readonly<Record<string, MessageAttributeValue>>): number {
  let size = Buffer.byteLength(body);
  for (const [name, value] of Object.entries(attributes)) {
    size += Buffer.byteLength(name) + Buffer.byteLength(value.DataType ?? '') + Buffer.byteLength(value.StringValue ?? '');
  }
  return size;
}

/**
 * Splits entries into SQS batches: at most 10 each and 256 KB together, in their order. One
 * entry over 256 KB by itself cannot be sent at all, and throws.
 */
export function chunk<T>(
  entries: ReadonlyArray<T>,
  sizeOf: (entry: T) => number,
  limits: RequestLimits = { entries: MAX_BATCH_ENTRIES, bytes: MAX_BATCH_BYTES },
): T[][] {
  for (const size of entries.map(sizeOf))
    if (size > limits.bytes)
      throw new Error(`a message of ${size} bytes is over SQS's limit of ${limits.bytes} bytes (body and attributes)`);
  return chunksWithin(entries, limits, sizeOf);
}

/**
 * The envelope's id or type of a message, from its headers or else its body (a message sent by
 * hand may carry no headers); null for one too broken to tell.
 */
export function envelopeFieldOf(field: 'id' | 'type', headers: Readonly<Headers>, body: string | null | undefined): string | null {
  const header = headers[field === 'id' ? EnvelopeHeaders.messageId : EnvelopeHeaders.type];
  if (header) return header;
  try {
    const value = (JSON.parse(body ?? '') as Record<string, unknown>)[field];
    return typeof value === 'string' ? value : null;
  } catch {
    return null;
  }
}

/** Seconds SQS accepts for a visibility timeout: a delay rounded up, from 0 to 12 hours. */
export function visibilitySecondsOf(delayMs: number): number {
  return Math.min(12 * 3600, Math.max(0, Math.ceil(delayMs / 1000)));
}
