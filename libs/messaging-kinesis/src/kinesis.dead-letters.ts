import {
  DescribeStreamSummaryCommand,
  ResourceNotFoundException,
  type KinesisClient,
  type PutRecordsRequestEntry,
} from '@aws-sdk/client-kinesis';
import {
  DeadLetterMarks,
  DeadLetterShelf,
  EnvelopeHeaders,
  FailureHeaders,
  logDeadLetterOf,
  missingIdHeader,
  withoutFailure,
  type DeadLetter,
  type DeadLetterCount,
  type DeadLetterScope,
  type LogPosition,
  type Settlement,
} from '@boxoffice/messaging';
import type { ShardKey } from './kinesis.checkpoints.js';
import { encodeFrame, KinesisDeadLetterHeaders } from './kinesis.framing.js';
import { KinesisPublisher } from './kinesis.publisher.js';
import type { PendingRecord } from './kinesis.shard-reader.js';
import { readStreamToEnd, type StreamRecord } from './kinesis.stream-reader.js';
import { deadLetterStreamOf, isDeadLetterStream, streamOf } from './kinesis.streams.js';

/**
 * Markers appended to a dead-letter stream, since a stream cannot delete one record (nor, unlike
 * Kafka, trim its start): a replayed record is hidden by `x-replayed-record: <shard>/<sequence>`,
 * and a purge by `x-purged-through: <shard>/<sequence>` (that record and every one before it in
 * its shard). `list` honours both (DeadLetterMarks); the stream's retention drops them all in time.
 */
export const DeadLetterMarkers = {
  replayed: 'x-replayed-record',
  purgedThrough: 'x-purged-through',
} as const;

const positionOf = (record: StreamRecord): LogPosition => ({ lane: record.shardId, at: BigInt(record.sequenceNumber) });

const marks = new DeadLetterMarks<StreamRecord>({
  positionOf,
  markOf: ({ headers }) => {
    if (headers[DeadLetterMarkers.replayed]) return { replayed: positionIn(headers[DeadLetterMarkers.replayed]) };
    if (headers[DeadLetterMarkers.purgedThrough]) return { purgedThrough: positionIn(headers[DeadLetterMarkers.purgedThrough]) };
    return null;
  },
});

/**
 * What the consumer parks, in the batch's transaction: each dead-lettered record with its failure
 * headers and where it sat, for `<stream>.<group>.dlt`, same partition key.
 */
export function deadLetterEntries(
  shard: ShardKey,
  records: ReadonlyArray<PendingRecord>,
  settlements: ReadonlyArray<Settlement>,
): PutRecordsRequestEntry[] {
  return records.flatMap(({ record, message }, i) => {
    const settlement = settlements[i];
    if (settlement.kind !== 'dead-letter') return [];
    const headers = {
      ...settlement.headers,
      [KinesisDeadLetterHeaders.originalShard]: shard.shardId,
      [KinesisDeadLetterHeaders.originalSequence]: record.SequenceNumber!,
      ...missingIdHeader(settlement.headers, settlement.messageId),
    };
    return [{ PartitionKey: record.PartitionKey!, Data: encodeFrame(headers, String(message.body ?? '')) }];
  });
}

/**
 * What the dlq tool does with Kinesis dead letters (DeadLetterShelf's list, replay, purge), over
 * the `<stream>.<group>.dlt` streams of a scope. A replay puts the record back on its source stream
 * with the same partition key and message id and without its failure headers (a full set of
 * attempts), then appends a marker that hides it; every group on the stream reads it again, and
 * those that handled it drop it in their inbox. A crash between the two replays it twice at worst.
 */
export class KinesisDeadLetters extends DeadLetterShelf {
  private readonly streams: ReadonlyArray<string>;
  private readonly publisher: KinesisPublisher;

  constructor(
    private readonly client: KinesisClient,
    scope: DeadLetterScope,
  ) {
    super();
    this.streams = [
      ...new Set(scope.flatMap(({ channel, consumers }) => consumers.map((group) => deadLetterStreamOf(streamOf(channel), group)))),
    ].sort();
    this.publisher = new KinesisPublisher(client);
  }

  /**
   * Each dead-letter stream's letters, when the oldest arrived, and the stream's retention, which
   * drops a letter once it is older, replayed or not. Kinesis counts nothing for us: the stream
   * is read in full, as `list` reads it (the metrics ask every few seconds, not on each scrape).
   */
  async counts(): Promise<DeadLetterCount[]> {
    const counts: DeadLetterCount[] = [];
    for (const stream of this.streams) {
      const summary = await this.client
        .send(new DescribeStreamSummaryCommand({ StreamName: stream }))
        .catch((error: unknown) => (error instanceof ResourceNotFoundException ? null : Promise.reject(error)));
      if (!summary) continue; // no consumer started yet
      const waiting = await this.waiting(stream);
      const arrivals = waiting.flatMap(({ arrivedAt }) => (arrivedAt ? [arrivedAt.getTime()] : []));
      const hours = summary.StreamDescriptionSummary?.RetentionPeriodHours;
      counts.push({
        store: stream,
        messages: waiting.length,
        oldestAt: waiting.length === 0 ? null : arrivals.length > 0 ? Math.min(...arrivals) : undefined,
        retentionMs: hours === undefined ? undefined : hours * 3_600_000,
      });
    }
    return counts;
  }

  /** Every stream of the scope: one that does not exist (no consumer started yet) holds nothing. */
  protected async stores(): Promise<string[]> {
    return [...this.streams];
  }

  protected async listIn(stream: string): Promise<DeadLetter[]> {
    return (await this.waiting(stream)).map((record) => toDeadLetter(record, stream));
  }

  protected async replayIn(stream: string, which: string | 'all'): Promise<number> {
    const waiting = await this.waiting(stream);
    const records = which === 'all' ? waiting : waiting.filter((record) => record.headers[EnvelopeHeaders.messageId] === which);
    if (records.length === 0) return 0;
    const bySource = new Map<string, PutRecordsRequestEntry[]>();
    for (const record of records) {
      const source = record.headers[FailureHeaders.originalSource];
      if (!source) throw new Error(`dead letter ${record.shardId}/${record.sequenceNumber} of ${stream} does not say where it came from`);
      const entries = bySource.get(source) ?? [];
      entries.push({
        PartitionKey: record.partitionKey,
        Data: encodeFrame(withoutFailure(record.headers, Object.values(KinesisDeadLetterHeaders)), record.body),
      });
      bySource.set(source, entries);
    }
    for (const [source, entries] of bySource) await this.publisher.put(source, entries);
    await this.mark(stream, DeadLetterMarkers.replayed, records.map(positionOf));
    return records.length;
  }

  protected async purgeIn(stream: string): Promise<number> {
    const waiting = await this.waiting(stream);
    await this.mark(stream, DeadLetterMarkers.purgedThrough, marks.purgePoints(waiting));
    return waiting.length;
  }

  private async mark(stream: string, marker: string, positions: ReadonlyArray<LogPosition>): Promise<void> {
    if (positions.length === 0) return;
    await this.publisher.put(
      stream,
      positions.map(({ lane, at }) => ({ PartitionKey: 'dead-letter-marker', Data: encodeFrame({ [marker]: `${lane}/${at}` }, '') })),
    );
  }

  /** The dead letters of a stream not hidden by a marker; none if the stream does not exist (no consumer started yet). */
  private async waiting(stream: string): Promise<StreamRecord[]> {
    // A guard worth its line: markers written to a real stream would be events to its consumers.
    if (!isDeadLetterStream(stream)) throw new Error(`${stream} is not a dead-letter stream (*.dlt)`);
    try {
      return waitingRecords(await readStreamToEnd(this.client, stream));
    } catch (error) {
      if (error instanceof ResourceNotFoundException) return [];
      throw error;
    }
  }
}

/** The records of a dead-letter stream that are neither markers nor hidden by one. */
export function waitingRecords(records: ReadonlyArray<StreamRecord>): StreamRecord[] {
  return marks.waiting(records);
}

/** `<shard>/<sequence>`, as a marker names a record. */
function positionIn(marker: string): LogPosition {
  const [lane, at] = marker.split('/');
  return { lane, at: BigInt(at) };
}

export function toDeadLetter(record: StreamRecord, store: string): DeadLetter {
  return logDeadLetterOf({ transport: 'kinesis', store, headers: record.headers, body: record.body, position: whereOf(record) });
}

/** The record's shard and sequence, and those of the record it copies in its source stream. */
function whereOf({ shardId, sequenceNumber, headers }: StreamRecord): string {
  const originalShard = headers[KinesisDeadLetterHeaders.originalShard];
  const original = originalShard ? `, from ${originalShard} sequence ${headers[KinesisDeadLetterHeaders.originalSequence] ?? '?'}` : '';
  return `${shardId} sequence ${sequenceNumber}${original}`;
}
