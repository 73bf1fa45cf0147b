import type { InboundMessage } from '@boxoffice/messaging';

/** What a dead letter adds to the shared failure headers: where in the source stream it sat. */
export const KinesisDeadLetterHeaders = {
  originalShard: 'x-original-shard',
  originalSequence: 'x-original-sequence',
} as const;

/** A record's data: Kinesis records have no headers, so the headers travel beside the body in one JSON frame. */
interface Frame {
  readonly headers: Record<string, string>;
  readonly body: string;
}

export function encodeFrame(headers: Readonly<Record<string, string>>, body: string): Uint8Array {
  return Buffer.from(JSON.stringify({ headers, body } satisfies Frame));
}

/**
 * A record's data as the pipeline takes it. What is not a frame (another producer's plain JSON,
 * say) is all body with no headers, and the pipeline's decoder judges it like any other bytes.
 */
export function decodeFrame(data: Uint8Array | undefined): InboundMessage {
  const text = Buffer.from(data ?? new Uint8Array()).toString('utf8');
  try {
    const frame = JSON.parse(text) as Partial<Frame>;
    if (isFrame(frame)) return { body: frame.body, headers: frame.headers };
  } catch {
    // not JSON at all: poison for the decoder to name
  }
  return { body: text, headers: {} };
}

function isFrame(value: unknown): value is Frame {
  if (typeof value !== 'object' || value === null) return false;
  const { headers, body } = value as Record<string, unknown>;
  return (
    typeof body === 'string' &&
    typeof headers === 'object' &&
    headers !== null &&
    !Array.isArray(headers) &&
    Object.values(headers).every((v) => typeof v === 'string') &&
    Object.keys(value).length === 2
  );
}
