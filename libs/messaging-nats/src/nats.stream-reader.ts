import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { readWholeLog, type InboundMessage } from '@boxoffice/messaging';
import { headersOf, streamOf, unlessMissing } from './nats.streams.js';

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
export function readStream(connection: NatsConnection, stream: string, timeoutMs = 30_000): Promise<StreamRecord[]> {
  return readWholeLog({ label: stream, timeoutMs }, async () => {
    const info = await (await jetstreamManager(connection, { checkAPI: false })).streams.info(stream).catch(unlessMissing(null));
    const { messages = 0, last_seq: end = 0 } = info?.state ?? {};
    if (messages === 0) return null;
    const reader = await jetstream(connection).consumers.get(stream);
    return {
      count: messages,
      async page(max: number) {
        const records: StreamRecord[] = [];
        for await (const message of await reader.fetch({ max_messages: max, expires: 1_000 }))
          if (message.seq <= end)
            records.push({ body: message.string(), headers: headersOf(message), sequence: message.seq, storedAt: message.time });
        return records;
      },
      // Gone by itself after 5 idle minutes, but many reads would pile up.
      close: () => reader.delete().catch(() => false),
    };
  });
}
