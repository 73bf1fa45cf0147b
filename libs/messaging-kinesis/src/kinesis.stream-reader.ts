import {
  GetRecordsCommand,
  GetShardIteratorCommand,
  type GetShardIteratorCommandInput,
  type KinesisClient,
  type _Record,
} from '@aws-sdk/client-kinesis';
import type { InboundMessage } from '@boxoffice/messaging';
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

/**
 * How many records a shard holds after a sequence number (or in all, with none), counted by
 * reading to its end, up to `limit`. A consumer's lag: Kinesis keeps no cursor of ours to compare.
 */
export async function countAfter(
  client: KinesisClient,
  stream: string,
  shardId: string,
  after: string | null,
  limit = 100_000,
): Promise<number> {
  let count = 0;
  const start: GetShardIteratorCommandInput = after
    ? { StreamName: stream, ShardId: shardId, ShardIteratorType: 'AFTER_SEQUENCE_NUMBER', StartingSequenceNumber: after }
    : { StreamName: stream, ShardId: shardId, ShardIteratorType: 'TRIM_HORIZON' };
  await readShard(client, start, Date.now() + 10_000, (page) => {
    count += page.length;
    return count < limit;
  });
  return Math.min(count, limit);
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
