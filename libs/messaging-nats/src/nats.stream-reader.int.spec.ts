import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { defaultRetryPolicy, EnvelopeFactory } from '@boxoffice/messaging';
import { numberedMessage } from '@boxoffice/messaging-contract';
import { uniqueName } from '@boxoffice/testing';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { natsUrl } from '../test/test-nats.js';
import { readStreamToEnd } from './nats.stream-reader.js';
import { NatsTransport } from './nats.transport.js';

const Read = numberedMessage('NatsRead', 'event');

describe('an event stream read to its end, without a durable consumer', () => {
  const channel = uniqueName('reader.events');
  const envelopes = new EnvelopeFactory('reader-spec');
  const transport = new NatsTransport({ servers: natsUrl, name: 'reader-spec', kindOf: () => 'event', retryPolicy: defaultRetryPolicy });
  let connection: NatsConnection;

  let publishedFrom: number;
  let publishedTo: number;

  beforeAll(async () => {
    await transport.connect();
    await transport.provision([channel]);
    publishedFrom = Date.now();
    await transport.publish(
      Array.from({ length: 40 }, (_, seq) => {
        const key = `k${seq % 3}`;
        return { envelope: envelopes.create(Read, { key, seq }), destination: { transport: 'nats', channel, key } };
      }),
    );
    publishedTo = Date.now();
    connection = await connect({ servers: natsUrl });
  });
  afterAll(async () => {
    await transport.deprovision([channel]);
    await transport.close();
    await connection.close();
  });

  it('returns every message from the oldest, in order, with its envelope headers, and takes none away', async () => {
    const records = await readStreamToEnd(connection, channel);
    expect(records.map((r) => (JSON.parse(r.body) as { payload: { seq: number } }).payload.seq)).toEqual(
      Array.from({ length: 40 }, (_, i) => i),
    );
    expect(records[0].headers).toMatchObject({ type: 'NatsRead', 'message-id': records[0].headers['message-id'] });
    await expect(readStreamToEnd(connection, channel)).resolves.toHaveLength(40);
  });

  it('counts a group that has not started yet as having the whole stream ahead', async () => {
    await expect(transport.depth(channel, 'nobody-yet')).resolves.toMatchObject({ waiting: 40, consumers: null });
  });

  it('says how old the oldest message a group has not read is, and how long the stream keeps it: what the expiry alarm reads', async () => {
    const depth = await transport.depth(channel, 'nobody-yet');
    expect(depth.partitions).toEqual([{ partition: 0, waiting: 40, oldestAt: expect.any(Number) }]);
    // JetStream stamps it with this machine's clock, when the spec published it above.
    expect(depth.partitions![0].oldestAt).toBeGreaterThanOrEqual(publishedFrom);
    expect(depth.partitions![0].oldestAt).toBeLessThanOrEqual(publishedTo);
    // Events streams keep 7 days (libs/messaging-nats README), read or not.
    expect(depth.retentionMs).toBe(7 * 24 * 3_600_000);
  });

  it('reads nothing of a channel that has no stream', async () => {
    await expect(readStreamToEnd(connection, uniqueName('reader.none'))).resolves.toEqual([]);
  });
});
