import { ResourceNotFoundException, type KinesisClient, type PutRecordsRequestEntry } from '@aws-sdk/client-kinesis';
import {
  DeadLetterNotFound,
  FailureHeaders,
  readFailure,
  withoutFailure,
  type DeadLetter,
  type DeadLetterScope,
  type DeadLetterStore,
  type Settlement,
} from '@boxoffice/messaging';
import type { ShardKey } from './kinesis.checkpoints.js';
import { encodeFrame, EnvelopeHeaders, KinesisDeadLetterHeaders } from './kinesis.framing.js';
import { KinesisPublisher } from './kinesis.publisher.js';
import type { PendingRecord } from './kinesis.shard-reader.js';
import { readStreamToEnd, type StreamRecord } from './kinesis.stream-reader.js';
import { deadLetterStreamOf, isDeadLetterStream, streamOf } from './kinesis.streams.js';

/**
 * Markers appended to a dead-letter stream, since a stream cannot delete one record: a replayed
 * record is hidden by `x-replayed-record: <shard>/<sequence>`, and a purge by
 * `x-purged-through: <shard>/<sequence>` (that record and every one before it in its shard).
 * `list` honours both; the stream's retention drops them all in time.
 */
export const DeadLetterMarkers = {
  replayed: 'x-replayed-record',
  purgedThrough: 'x-purged-through',
} as const;

/** What the consumer parks: the record with its failure headers and where it sat, on `<stream>.<group>.dlt`, same partition key. */
export class KinesisDeadLetterWriter {
  private readonly publisher: KinesisPublisher;

  constructor(
    client: KinesisClient,
    private readonly group: string,
  ) {
    this.publisher = new KinesisPublisher(client);
  }

  async write(shard: ShardKey, records: ReadonlyArray<PendingRecord>, settlements: ReadonlyArray<Settlement>): Promise<void> {
    const entries: PutRecordsRequestEntry[] = records.flatMap(({ record, message }, i) => {
      const settlement = settlements[i];
      if (settlement.kind !== 'dead-letter') return [];
      const headers = {
        ...settlement.headers,
        [KinesisDeadLetterHeaders.originalShard]: shard.shardId,
        [KinesisDeadLetterHeaders.originalSequence]: record.SequenceNumber!,
        ...(settlement.messageId && !settlement.headers[EnvelopeHeaders.messageId] ? { [EnvelopeHeaders.messageId]: settlement.messageId } : {}),
      };
      return [{ PartitionKey: record.PartitionKey!, Data: encodeFrame(headers, String(message.body ?? '')) }];
    });
    if (entries.length > 0) await this.publisher.put(deadLetterStreamOf(shard.stream, this.group), entries);
  }
}

/**
 * What the dlq tool does with Kinesis dead letters: list, replay, purge, over the
 * `<stream>.<group>.dlt` streams of a scope. A replay puts the record back on its source stream
 * with the same partition key and message id and without its failure headers (a full set of
 * attempts), then appends a marker that hides it; every group on the stream reads it again, and
 * those that handled it drop it in their inbox. A crash between the two replays it twice at worst.
 */
export class KinesisDeadLetters implements DeadLetterStore {
  private readonly streams: ReadonlyArray<string>;
  private readonly publisher: KinesisPublisher;

  constructor(
    private readonly client: KinesisClient,
    scope: DeadLetterScope,
  ) {
    this.streams = [...new Set(scope.flatMap(({ channel, consumers }) => consumers.map((group) => deadLetterStreamOf(streamOf(channel), group))))].sort();
    this.publisher = new KinesisPublisher(client);
  }

  async list(): Promise<DeadLetter[]> {
    const letters: DeadLetter[] = [];
    for (const stream of this.streams) letters.push(...(await this.waiting(stream)).map((record) => toDeadLetter(record, stream)));
    return letters;
  }

  async replay(id: string): Promise<void> {
    for (const stream of this.streams) {
      if ((await this.replayFrom(stream, (record) => record.headers[EnvelopeHeaders.messageId] === id)) > 0) return;
    }
    throw new DeadLetterNotFound(id);
  }

  async replayAll(): Promise<number> {
    let replayed = 0;
    for (const stream of this.streams) replayed += await this.replayFrom(stream, () => true);
    return replayed;
  }

  async purge(): Promise<number> {
    let purged = 0;
    for (const stream of this.streams) {
      const waiting = await this.waiting(stream);
      purged += waiting.length;
      const lastPerShard = new Map<string, StreamRecord>();
      for (const record of waiting) lastPerShard.set(record.shardId, record);
      await this.mark(stream, [...lastPerShard.values()].map((record) => ({ [DeadLetterMarkers.purgedThrough]: positionOf(record) })));
    }
    return purged;
  }

  private async replayFrom(stream: string, chosen: (record: StreamRecord) => boolean): Promise<number> {
    const records = (await this.waiting(stream)).filter(chosen);
    if (records.length === 0) return 0;
    const bySource = new Map<string, PutRecordsRequestEntry[]>();
    for (const record of records) {
      const source = record.headers[FailureHeaders.originalSource];
      if (!source) throw new Error(`dead letter ${positionOf(record)} of ${stream} does not say where it came from`);
      const entries = bySource.get(source) ?? [];
      entries.push({
        PartitionKey: record.partitionKey,
        Data: encodeFrame(withoutFailure(record.headers, Object.values(KinesisDeadLetterHeaders)), record.body),
      });
      bySource.set(source, entries);
    }
    for (const [source, entries] of bySource) await this.publisher.put(source, entries);
    await this.mark(stream, records.map((record) => ({ [DeadLetterMarkers.replayed]: positionOf(record) })));
    return records.length;
  }

  private async mark(stream: string, markers: ReadonlyArray<Record<string, string>>): Promise<void> {
    if (markers.length === 0) return;
    await this.publisher.put(stream, markers.map((headers) => ({ PartitionKey: 'dead-letter-marker', Data: encodeFrame(headers, '') })));
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
  const replayed = new Set<string>();
  const purgedThrough = new Map<string, bigint>();
  for (const { headers } of records) {
    if (headers[DeadLetterMarkers.replayed]) replayed.add(headers[DeadLetterMarkers.replayed]);
    const purged = headers[DeadLetterMarkers.purgedThrough];
    if (purged) {
      const [shardId, sequence] = purged.split('/');
      if (BigInt(sequence) > (purgedThrough.get(shardId) ?? -1n)) purgedThrough.set(shardId, BigInt(sequence));
    }
  }
  return records.filter(
    (record) =>
      !record.headers[DeadLetterMarkers.replayed] &&
      !record.headers[DeadLetterMarkers.purgedThrough] &&
      !replayed.has(positionOf(record)) &&
      BigInt(record.sequenceNumber) > (purgedThrough.get(record.shardId) ?? -1n),
  );
}

const positionOf = (record: StreamRecord) => `${record.shardId}/${record.sequenceNumber}`;

export function toDeadLetter(record: StreamRecord, store: string): DeadLetter {
  const failure = readFailure(record.headers);
  const originalShard = record.headers[KinesisDeadLetterHeaders.originalShard];
  return {
    transport: 'kinesis',
    store,
    id: record.headers[EnvelopeHeaders.messageId] ?? null,
    type: record.headers[EnvelopeHeaders.type] ?? null,
    attempts: failure.attempts ?? 0,
    lastError: failure.lastError ?? '',
    firstFailureAt: failure.firstFailureAt ?? null,
    lastFailureAt: failure.lastFailureAt ?? null,
    originalSource: record.headers[FailureHeaders.originalSource] ?? '',
    consumer: record.headers[FailureHeaders.consumer] ?? null,
    body: record.body,
    position:
      `${record.shardId} sequence ${record.sequenceNumber}` +
      (originalShard ? `, from ${originalShard} sequence ${record.headers[KinesisDeadLetterHeaders.originalSequence] ?? '?'}` : ''),
  };
}
