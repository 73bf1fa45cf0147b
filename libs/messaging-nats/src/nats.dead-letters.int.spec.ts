import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { defaultRetryPolicy, EnvelopeHeaders, FailureHeaders } from '@boxoffice/messaging';
import { uniqueName } from '@boxoffice/testing';
import { jetstream } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { natsUrl } from '../test/test-nats.js';
import { readStream } from './nats.stream-reader.js';
import { deadLetterStreamOf, deadLetterSubjectOf, toNatsHeaders } from './nats.streams.js';
import { NatsTransport } from './nats.transport.js';

// What the metrics read of a dead-letter stream (docs/observability.md): how many letters wait and
// when the oldest was stored, from the stream's info alone, so a scrape reads no letter.

describe("a dead-letter stream's count", () => {
  const channel = uniqueName('expiry.events');
  const transport = new NatsTransport({ servers: natsUrl, name: 'expiry-spec', kindOf: () => 'event', retryPolicy: defaultRetryPolicy });
  const store = () => transport.deadLetters([{ channel, consumers: ['expiry-group'] }]);
  let connection: NatsConnection;

  /** Parks one letter as the consumer does: its failure record names where it came from. */
  const park = (id: string) =>
    jetstream(connection).publish(deadLetterSubjectOf(channel), id, {
      headers: toNatsHeaders({
        [EnvelopeHeaders.messageId]: id,
        [FailureHeaders.originalSource]: channel,
        [FailureHeaders.lastError]: 'boom',
      }),
    });

  beforeAll(async () => {
    await transport.connect();
    await transport.provision([channel]);
    connection = await connect({ servers: natsUrl });
  });
  afterAll(async () => {
    await transport.deprovision([channel]);
    await transport.close();
    await connection.close();
  });

  it('has no oldest letter and no retention while the stream is empty: letters wait for a human', async () => {
    await expect(store().counts()).resolves.toEqual([
      { store: deadLetterStreamOf(channel), messages: 0, oldestAt: null, retentionMs: null },
    ]);
  });

  it('says when the oldest letter waiting was stored, and moves on when that one is replayed', async () => {
    await park('first');
    await park('second');
    const [first, second] = await readStream(connection, deadLetterStreamOf(channel));
    await expect(store().counts()).resolves.toEqual([expect.objectContaining({ messages: 2, oldestAt: first.storedAt.getTime() })]);
    await store().replay('first');
    await expect(store().counts()).resolves.toEqual([expect.objectContaining({ messages: 1, oldestAt: second.storedAt.getTime() })]);
  });
});
