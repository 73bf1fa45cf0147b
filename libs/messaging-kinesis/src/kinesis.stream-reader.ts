import {
  DescribeStreamSummaryCommand,
  GetRecordsCommand,
  GetShardIteratorCommand,
  type GetShardIteratorCommandInput,
  type KinesisClient,
  type _Record,
} from '@aws-sdk/client-kinesis';
import type { InboundMessage, PartitionDepth } from '@boxoffice/messaging';
import { decodeFrame } from './kinesis.framing.js';
import { KinesisStreams } from './kinesis.streams.js';

/** A record of a stream as a reader without a cursor sees it. */
export interface StreamRecord extends InboundMessage {
  readonly body: string;
  readonly shardId: string;
  readonly sequenceNumber: string;
  readonly partitionKey: string;
  readonly arrivedAt: Date | null;
}

/** GetRecords returns at most 10,000 records or 10 MB a call. */
const PAGE = 10_000;

/**
 * Reads every record a stream holds, from the oldest kept (TRIM_HORIZON), oldest first per
 * shard, and stops at the end of each shard as it was when the read began: Kinesis has no high
 * watermark to ask for, so a shard's read ends once it is caught up (MillisBehindLatest 0, an
 * empty page) and records that arrived after the start are left out. No cursor moves. The
 * Kinesis equivalent of readTopicToEnd, for Analytics' rebuild and the dead-letter store.
 */
export async function readStreamToEnd(client: KinesisClient, stream: string, timeoutMs = 30_000): Promise<StreamRecord[]> {
  const startedAt = Date.now();
  const shards = await new KinesisStreams(client).shards(stream);
  const perShard = await Promise.all(
    shards.map(async (shardId) => {
      const records: StreamRecord[] = [];
      await readShard(
        client,
        { StreamName: stream, ShardId: shardId, ShardIteratorType: 'TRIM_HORIZON' },
        startedAt + timeoutMs,
        (page) => {
          for (const record of page) {
            const arrivedAt = record.ApproximateArrivalTimestamp ?? null;
            if (arrivedAt && arrivedAt.getTime() > startedAt) return false;
            const { body, headers } = decodeFrame(record.Data);
            records.push({
              body: String(body),
              headers,
              shardId,
              sequenceNumber: record.SequenceNumber!,
              partitionKey: record.PartitionKey!,
              arrivedAt,
            });
          }
          return true;
        },
      );
      return records;
    }),
  );
  return perShard.flat();
}

/** A consumer's lag on one shard: records after its checkpoint, and when the first of them arrived. */
export interface ShardLag {
  readonly waiting: number;
  /** ApproximateArrivalTimestamp of the oldest record not read, epoch ms; null when none waits. */
  readonly oldestAt: number | null;
}

/**
 * How far a consumer is behind on each shard of a stream, from its checkpoints, and the stream's
 * retention: a record is gone once it is older than that, read or not (24 hours unless raised).
 * Lag in time is the arrival of the oldest record not read; not MillisBehindLatest, which says
 * how far the last record of a page is from the tip.
 * https://docs.aws.amazon.com/kinesis/latest/APIReference/API_GetRecords.html
 */
export async function readStreamDepth(
  client: KinesisClient,
  stream: string,
  checkpoints: ReadonlyMap<string, string>,
): Promise<{ waiting: number; partitions: PartitionDepth[]; retentionMs: number | undefined }> {
  const [shards, summary] = await Promise.all([
    new KinesisStreams(client).shards(stream),
    client.send(new DescribeStreamSummaryCommand({ StreamName: stream })),
  ]);
  const partitions = await Promise.all(
    shards.map(async (shardId) => ({ partition: shardId, ...(await lagAfter(client, stream, shardId, checkpoints.get(shardId) ?? null)) })),
  );
  const hours = summary.StreamDescriptionSummary?.RetentionPeriodHours;
  return {
    waiting: partitions.reduce((sum, { waiting }) => sum + waiting, 0),
    partitions,
    retentionMs: hours === undefined ? undefined : hours * 3_600_000,
  };
}

/**
 * How many records a shard holds after a sequence number (or in all, with none), counted by
 * reading to its end, up to `limit`, and when the first of them arrived. A consumer's lag:
 * Kinesis keeps no cursor of ours to compare.
 */
export async function lagAfter(
  client: KinesisClient,
  stream: string,
  shardId: string,
  after: string | null,
  limit = 100_000,
): Promise<ShardLag> {
  let count = 0;
  let oldestAt: number | null = null;
  const start: GetShardIteratorCommandInput = after
    ? { StreamName: stream, ShardId: shardId, ShardIteratorType: 'AFTER_SEQUENCE_NUMBER', StartingSequenceNumber: after }
    : { StreamName: stream, ShardId: shardId, ShardIteratorType: 'TRIM_HORIZON' };
  await readShard(client, start, Date.now() + 10_000, (page) => {
    if (count === 0 && page.length > 0) oldestAt = page[0].ApproximateArrivalTimestamp?.getTime() ?? null;
    count += page.length;
    return count < limit;
  });
  return { waiting: Math.min(count, limit), oldestAt };
}

/** Pages of a shard to `take` until it is caught up, closed, `take` says stop, or the deadline passes. */
async function readShard(
  client: KinesisClient,
  start: GetShardIteratorCommandInput,
  deadline: number,
  take: (page: ReadonlyArray<_Record>) => boolean,
): Promise<void> {
  let iterator = (await client.send(new GetShardIteratorCommand(start))).ShardIterator;
  while (iterator) {
    if (Date.now() > deadline) throw new Error(`reading ${start.StreamName}/${start.ShardId} did not reach its end in time`);
    const page = await client.send(new GetRecordsCommand({ ShardIterator: iterator, Limit: PAGE }));
    const records = page.Records ?? [];
    if (!take(records)) return;
    iterator = page.NextShardIterator;
    // Caught up: Kinesis may return an empty page before the end of a sparse shard, but not with nothing behind.
    if (records.length === 0 && page.MillisBehindLatest === 0) return;
  }
}
