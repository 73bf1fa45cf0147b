import { PutRecordsCommand, type KinesisClient, type PutRecordsRequestEntry } from '@aws-sdk/client-kinesis';
import { chunksWithin, envelopeHeaders, retryTransient, type BackoffSettings, type OutgoingMessage } from '@boxoffice/messaging';
import { encodeFrame } from './kinesis.framing.js';
import { streamOf } from './kinesis.streams.js';

/** PutRecords' limits: https://docs.aws.amazon.com/kinesis/latest/APIReference/API_PutRecords.html */
export const PUT_RECORDS_MAX_RECORDS = 500;
export const PUT_RECORDS_MAX_BYTES = 5 * 1024 * 1024;

export interface PublisherOptions {
  /** How often the records Kinesis refused (throttled, internal error) are sent again before the publish rejects. Default 8. */
  readonly attempts?: number;
  readonly backoff?: BackoffSettings;
}

/** 50 ms doubling to 2 s: Kinesis throttles per shard per second, so waits past a second help. */
const defaultBackoff: BackoffSettings = { initialDelayMs: 50, multiplier: 2, maxDelayMs: 2_000, jitter: 0.2 };

/**
 * The port's publish: PutRecords per stream in chunks (500 records, 5 MB), partition key = the
 * destination's key, so one key lands on one shard. PutRecords is not all-or-nothing: each record
 * succeeds or fails alone (FailedRecordCount), so the failed ones are sent again, with backoff,
 * and the publish resolves only when every record has a sequence number.
 */
export class KinesisPublisher {
  private readonly attempts: number;
  private readonly backoff: BackoffSettings;

  constructor(
    private readonly client: KinesisClient,
    options: PublisherOptions = {},
  ) {
    this.attempts = options.attempts ?? 8;
    this.backoff = options.backoff ?? defaultBackoff;
  }

  async publish(messages: ReadonlyArray<OutgoingMessage>): Promise<void> {
    const byStream = new Map<string, PutRecordsRequestEntry[]>();
    for (const { envelope, destination, headers } of messages) {
      const stream = streamOf(destination.channel);
      const entries = byStream.get(stream) ?? [];
      entries.push({ PartitionKey: destination.key, Data: encodeFrame(envelopeHeaders(envelope, headers), JSON.stringify(envelope)) });
      byStream.set(stream, entries);
    }
    // Streams in parallel; a stream's chunks one after another, so a key's records keep their order.
    await Promise.all([...byStream].map(([stream, entries]) => this.put(stream, entries)));
  }

  /** Every entry onto the stream, in order, chunk by chunk; rejects if some are still refused after the attempts. */
  async put(stream: string, entries: ReadonlyArray<PutRecordsRequestEntry>): Promise<void> {
    for (const chunk of chunks(entries)) await this.putChunk(stream, chunk);
  }

  /** One PutRecords, and again with what it refused, until all is taken or the attempts are spent. */
  private async putChunk(stream: string, chunk: ReadonlyArray<PutRecordsRequestEntry>): Promise<void> {
    let pending = chunk;
    let attempt = 0;
    const put = async () => {
      attempt += 1;
      const { FailedRecordCount, Records } = await this.client.send(new PutRecordsCommand({ StreamName: stream, Records: [...pending] }));
      if (!FailedRecordCount) return;
      // A key's refused record is sent again after its successful later ones: its order holds only
      // when nothing is refused (see the README, "What it cannot do").
      pending = pending.filter((_, i) => Records?.[i]?.ErrorCode);
      const first = Records?.find((r) => r.ErrorCode);
      throw new RecordsRefused(
        `Kinesis refused ${pending.length} of ${chunk.length} records on ${stream} ${attempt} times (${first?.ErrorCode}: ${first?.ErrorMessage})`,
      );
    };
    await retryTransient(put, { transient: (error) => error instanceof RecordsRefused, attempts: this.attempts, backoff: this.backoff });
  }
}

class RecordsRefused extends Error {}

/** Entries cut into PutRecords requests: at most 500 and 5 MB (data plus partition key) each. */
export function chunks(entries: ReadonlyArray<PutRecordsRequestEntry>): PutRecordsRequestEntry[][] {
  const limits = { entries: PUT_RECORDS_MAX_RECORDS, bytes: PUT_RECORDS_MAX_BYTES };
  return chunksWithin(entries, limits, (entry) => (entry.Data?.byteLength ?? 0) + Buffer.byteLength(entry.PartitionKey ?? ''));
}
