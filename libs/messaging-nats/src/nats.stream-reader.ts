import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import type { InboundMessage } from '@boxoffice/messaging';
import { headersOf } from './nats.message.js';
import { streamOf, unlessMissing } from './nats.streams.js';

/** A message of a stream as a reader without a durable consumer sees it. */
export interface StreamRecord extends InboundMessage {
  readonly body: string;
  readonly sequence: number;
  readonly storedAt: Date;
}

/**
 * Reads every message a channel's stream holds, oldest first, up to the last one it held when the read began (none,
 * if there is no stream); nothing is acked or removed. The NATS equivalent of readTopicToEnd, for Analytics' rebuild.
 */
export function readStreamToEnd(connection: NatsConnection, channel: string, timeoutMs = 30_000): Promise<StreamRecord[]> {
  return readStream(connection, streamOf(channel), timeoutMs);
}

/** `readStreamToEnd` of a stream by its name (a dead-letter stream), through an ordered consumer: ephemeral, no acks. */
export async function readStream(connection: NatsConnection, stream: string, timeoutMs = 30_000): Promise<StreamRecord[]> {
  const deadline = Date.now() + timeoutMs;
  const info = await (await jetstreamManager(connection, { checkAPI: false })).streams.info(stream).catch(unlessMissing(null));
  const { messages = 0, last_seq: end = 0 } = info?.state ?? {};
  const records: StreamRecord[] = [];
  if (messages === 0) return records;
  const reader = await jetstream(connection).consumers.get(stream);
  try {
    while (records.length < messages) {
      if (Date.now() > deadline) throw new Error(`reading ${stream} did not reach its end in ${timeoutMs} ms`);
      const before = records.length;
      // No more than are left, so a page does not wait out its expiry for more.
      const page = await reader.fetch({ max_messages: Math.min(1_000, messages - records.length), expires: 1_000 });
      for await (const message of page) {
        if (message.seq <= end)
          records.push({ body: message.string(), headers: headersOf(message), sequence: message.seq, storedAt: message.time });
      }
      if (records.length === before) break; // the rest was deleted meanwhile
    }
  } finally {
    await reader.delete().catch(() => false); // gone by itself after 5 idle minutes, but many reads would pile up
  }
  return records;
}
