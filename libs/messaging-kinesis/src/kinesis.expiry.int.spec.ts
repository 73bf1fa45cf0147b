import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { EnvelopeFactory, EnvelopeHeaders, FailureHeaders, PgTransactionRunner } from '@boxoffice/messaging';
import { numberedMessage } from '@boxoffice/messaging-contract';
import { createTestDatabase, uniqueName, waitFor, type TestDatabase } from '@boxoffice/testing';
import { KinesisCheckpoints } from './kinesis.checkpoints.js';
import { KinesisDeadLetters } from './kinesis.dead-letters.js';
import { encodeFrame } from './kinesis.framing.js';
import { KinesisPublisher } from './kinesis.publisher.js';
import { readStreamToEnd, type StreamRecord } from './kinesis.stream-reader.js';
import { deadLetterStreamOf, KinesisStreams } from './kinesis.streams.js';
import { KinesisTransport } from './kinesis.transport.js';
import { deleteStreamAndItsOwn, endpoint } from './testing/kinesis.fixtures.js';

// What the metrics read to warn before a record expires (docs/observability.md): a consumer's lag
// in time per shard against the stream's retention, and the oldest dead letter against its
// stream's. Kinesis stamps each record's arrival itself, so the readings are held to the arrival
// times a plain read of the stream sees, and to the clock around the writes.

const Expiring = numberedMessage('KinesisExpiring', 'event');
const DAY_MS = 24 * 3_600_000;

/** The clock past the second `at` falls in, so a record written next arrives later, at any precision kinesis-local stamps. */
const pastTheSecondOf = (at: number) =>
  waitFor(
    () => Date.now(),
    (now) => now > Math.floor(at / 1_000) * 1_000 + 1_000,
    { intervalMs: 10, description: 'the clock past the second' },
  );

describe('how close a stream’s unread records are to expiry', () => {
  const stream = uniqueName('expiry_stream');
  const envelopes = new EnvelopeFactory('expiry-spec');
  let db: TestDatabase;
  let transport: KinesisTransport;
  let records: StreamRecord[];
  let writtenFrom: number;
  let writtenTo: number;

  beforeAll(async () => {
    db = await createTestDatabase('kinesis_expiry', [new URL('../../messaging/sql/stream-checkpoints.sql', import.meta.url)]);
    transport = new KinesisTransport({ endpoint, database: new PgTransactionRunner(db.pool), shards: 1 });
    await transport.provision([stream]);
    writtenFrom = Date.now();
    for (const seq of [0, 1, 2]) {
      await transport.publish([
        { envelope: envelopes.create(Expiring, { key: 'k', seq }), destination: { transport: 'kinesis', channel: stream, key: 'k' } },
      ]);
    }
    writtenTo = Date.now();
    records = await readStreamToEnd(transport.client, stream);
  });
  afterAll(async () => {
    await deleteStreamAndItsOwn(transport.client, stream).catch(() => undefined);
    await transport.close();
    await db.drop();
  });

  const checkpointAt = (consumer: string, record: StreamRecord) =>
    KinesisCheckpoints.write(new PgTransactionRunner(db.pool), { consumer, stream, shardId: record.shardId }, record.sequenceNumber);

  it('is the arrival of the oldest record, for a consumer that never checkpointed', async () => {
    const depth = await transport.depth(stream, 'nobody-yet');
    expect(records).toHaveLength(3);
    expect(depth.partitions).toEqual([{ partition: records[0].shardId, waiting: 3, oldestAt: records[0].arrivedAt!.getTime() }]);
    // A time Kinesis stamped while the spec wrote: an age above 0 and below what has passed since.
    expect(depth.partitions![0].oldestAt).toBeGreaterThanOrEqual(Math.floor(writtenFrom / 1_000) * 1_000);
    expect(depth.partitions![0].oldestAt).toBeLessThanOrEqual(writtenTo);
  });

  it('is the arrival of the first record after the checkpoint, and nothing once the consumer has read all', async () => {
    await checkpointAt('halfway', records[0]);
    await expect(transport.depth(stream, 'halfway')).resolves.toMatchObject({
      partitions: [{ waiting: 2, oldestAt: records[1].arrivedAt!.getTime() }],
    });
    await checkpointAt('done', records[2]);
    await expect(transport.depth(stream, 'done')).resolves.toMatchObject({ partitions: [{ waiting: 0, oldestAt: null }] });
  });

  it("comes with the stream's retention (24 hours unless raised)", async () => {
    await expect(transport.depth(stream, 'nobody-yet')).resolves.toMatchObject({ retentionMs: DAY_MS });
  });
});

describe("a dead-letter stream's oldest letter", () => {
  const source = uniqueName('expiry_source');
  const group = 'expiry-group';
  const deadLetterStream = deadLetterStreamOf(source, group);
  const transport = new KinesisTransport({ endpoint, shards: 1 });
  const publisher = new KinesisPublisher(transport.client);
  const store = new KinesisDeadLetters(transport.client, [{ channel: source, consumers: [group] }]);

  /** Parks one letter as the consumer does: its failure record names where it came from. */
  const park = (id: string) =>
    publisher.put(deadLetterStream, [
      {
        PartitionKey: id,
        Data: encodeFrame(
          { [EnvelopeHeaders.messageId]: id, [FailureHeaders.originalSource]: source, [FailureHeaders.lastError]: 'boom' },
          id,
        ),
      },
    ]);

  beforeAll(async () => {
    await new KinesisStreams(transport.client).ensure([
      { stream: source, shards: 1 },
      { stream: deadLetterStream, shards: 1 },
    ]);
  });
  afterAll(async () => {
    await deleteStreamAndItsOwn(transport.client, source).catch(() => undefined);
    await transport.close();
  });

  it('is none while the stream holds no letter, and the stream is left out before it exists', async () => {
    const missing = new KinesisDeadLetters(transport.client, [{ channel: uniqueName('never_made'), consumers: [group] }]);
    await expect(missing.counts()).resolves.toEqual([]);
    await expect(store.counts()).resolves.toEqual([{ store: deadLetterStream, messages: 0, oldestAt: null, retentionMs: DAY_MS }]);
  });

  it('is the arrival of the oldest letter waiting, and moves on when that one is replayed', async () => {
    await park('first');
    const [first] = await readStreamToEnd(transport.client, deadLetterStream);
    await pastTheSecondOf(first.arrivedAt!.getTime());
    await park('second');
    const second = (await readStreamToEnd(transport.client, deadLetterStream))[1];
    expect(second.arrivedAt!.getTime()).toBeGreaterThan(first.arrivedAt!.getTime());

    await expect(store.counts()).resolves.toEqual([
      { store: deadLetterStream, messages: 2, oldestAt: first.arrivedAt!.getTime(), retentionMs: DAY_MS },
    ]);
    await store.replay('first');
    await expect(store.counts()).resolves.toEqual([expect.objectContaining({ messages: 1, oldestAt: second.arrivedAt!.getTime() })]);
  });
});
