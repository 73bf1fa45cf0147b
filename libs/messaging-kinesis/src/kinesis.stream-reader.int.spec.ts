import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { EnvelopeFactory, PgTransactionRunner } from '@boxoffice/messaging';
import { numberedMessage } from '@boxoffice/messaging-contract';
import { createTestDatabase, uniqueName, type TestDatabase } from '@boxoffice/testing';
import { KinesisCheckpoints } from './kinesis.checkpoints.js';
import { readStreamToEnd } from './kinesis.stream-reader.js';
import { KinesisTransport } from './kinesis.transport.js';
import { deleteStreamAndItsOwn, endpoint } from './testing/kinesis.fixtures.js';

const Read = numberedMessage('KinesisRead', 'event');

describe('a stream read to its end, without a cursor', () => {
  const stream = uniqueName('reader_stream');
  const envelopes = new EnvelopeFactory('reader-spec');
  let db: TestDatabase;
  let transport: KinesisTransport;

  beforeAll(async () => {
    db = await createTestDatabase('kinesis_reader', [new URL('../../messaging/sql/stream-checkpoints.sql', import.meta.url)]);
    transport = new KinesisTransport({ endpoint, database: new PgTransactionRunner(db.pool), shards: 2 });
    await transport.provision([stream]);
    await transport.publish(
      Array.from({ length: 40 }, (_, seq) => {
        const key = `k${seq % 4}`;
        return { envelope: envelopes.create(Read, { key, seq }), destination: { transport: 'kinesis', channel: stream, key } };
      }),
    );
  });
  afterAll(async () => {
    await deleteStreamAndItsOwn(transport.client, stream).catch(() => undefined);
    await transport.close();
    await db.drop();
  });

  it('returns every record from the oldest, in order per key, with its envelope headers', async () => {
    const records = await readStreamToEnd(transport.client, stream);
    expect(records).toHaveLength(40);
    const seqs = records.map((r) => (JSON.parse(r.body) as { payload: { seq: number } }).payload.seq);
    for (const key of ['k0', 'k1', 'k2', 'k3']) {
      const ofKey = seqs.filter((_, i) => records[i].partitionKey === key);
      expect(ofKey).toEqual([...ofKey].sort((a, b) => a - b));
    }
    expect(records[0].headers['type']).toBe('KinesisRead');
  });

  it("counts a consumer's depth as the records after its checkpoints", async () => {
    await expect(transport.depth(stream, 'nobody-yet')).resolves.toMatchObject({ waiting: 40, consumers: null });
    const records = await readStreamToEnd(transport.client, stream);
    const first = records[0];
    await KinesisCheckpoints.write(
      new PgTransactionRunner(db.pool),
      { consumer: 'halfway', stream, shardId: first.shardId },
      first.sequenceNumber,
    );
    await expect(transport.depth(stream, 'halfway')).resolves.toMatchObject({ waiting: 39 });
  });
});
