import { PutRecordsCommand, type KinesisClient, type PutRecordsRequestEntry } from '@aws-sdk/client-kinesis';
import {
  chunksWithin,
  describeError,
  envelopeHeaders,
  retryTransient,
  throwUnlessAllTaken,
  type BackoffSettings,
  type OutgoingMessage,
  type PublishFailure,
  type PublishOptions,
} from '@boxoffice/messaging';
import { encodeFrame } from './kinesis.framing.js';
import { streamOf } from './kinesis.streams.js';

/** PutRecords' limits: https://docs.aws.amazon.com/kinesis/latest/APIReference/API_PutRecords.html */
export const PUT_RECORDS_MAX_RECORDS = 500;
export const PUT_RECORDS_MAX_BYTES = 5 * 1024 * 1024;
/** One record's limit, its data and partition key together: https://docs.aws.amazon.com/streams/latest/dev/service-sizes-and-limits.html */
export const RECORD_MAX_BYTES = 1024 * 1024;

export interface PublisherOptions {
  /** How often the records Kinesis did not take (throttled, internal error) are sent again before the publish gives up on them. Default 8. */
  readonly attempts?: number;
  readonly backoff?: BackoffSettings;
}

/** 50 ms doubling to 2 s: Kinesis throttles per shard per second, so waits past a second help. */
const defaultBackoff: BackoffSettings = { initialDelayMs: 50, multiplier: 2, maxDelayMs: 2_000, jitter: 0.2 };

/** One message of a publish, by its index in the published array, as a PutRecords entry. */
interface Item {
  readonly index: number;
  readonly entry: PutRecordsRequestEntry;
}

type Fail = (items: ReadonlyArray<Item>, failure: PublishFailure, error: unknown) => void;

/**
 * The port's publish: PutRecords per stream in chunks (500 records, 5 MB), partition key = the
 * destination's key, so one key lands on one shard. PutRecords is not all-or-nothing: it answers
 * each record on its own, a sequence number or an error code. So the records it did not take are
 * sent again, with backoff, and the publish accounts for each message: what has a sequence number
 * is taken, and `publish` rejects with PublishIncomplete naming the rest. Kinesis' per-record
 * errors (throttled, an internal failure) are never the record's fault, so they are named as not
 * answered; a record over 1 MB, and every record for a stream that does not exist, as refused,
 * for the outbox to park after its attempts. A stream's chunks go one after the other, and stop at
 * the first not taken whole: the later ones are not sent, so no later record of a key overtakes
 * one still to go.
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

  /** Once the caller's signal is aborted (the relay's deadline), the requests in flight are aborted and no chunk is sent after them. */
  async publish(messages: ReadonlyArray<OutgoingMessage>, { signal }: PublishOptions = {}): Promise<void> {
    const byStream = new Map<string, Item[]>();
    messages.forEach(({ envelope, destination, headers }, index) => {
      const stream = streamOf(destination.channel);
      const items = byStream.get(stream) ?? [];
      items.push({
        index,
        entry: { PartitionKey: destination.key, Data: encodeFrame(envelopeHeaders(envelope, headers), JSON.stringify(envelope)) },
      });
      byStream.set(stream, items);
    });
    const failed = new Map<number, PublishFailure>();
    const firstError: { error?: unknown } = {};
    const fail: Fail = (items, failure, error) => {
      for (const { index } of items) failed.set(index, failure);
      firstError.error ??= error;
    };
    // Streams in parallel; a stream's chunks one after another, so a key's records keep their order.
    await Promise.all([...byStream].map(([stream, items]) => this.putItems(stream, items, fail, signal)));
    throwUnlessAllTaken('Kinesis publish', failed, messages.length, firstError.error);
  }

  /** Every entry onto the stream, in order, chunk by chunk; rejects if any is not taken after the attempts. */
  async put(stream: string, entries: ReadonlyArray<PutRecordsRequestEntry>): Promise<void> {
    let first: unknown = null;
    await this.putItems(
      stream,
      entries.map((entry, index) => ({ index, entry })),
      (_, failure, error) => (first ??= error ?? new Error(failure.reason)),
    );
    if (first) throw first;
  }

  private async putItems(stream: string, items: ReadonlyArray<Item>, fail: Fail, signal?: AbortSignal): Promise<void> {
    const tooLarge = items.filter(({ entry }) => recordBytes(entry) > RECORD_MAX_BYTES);
    for (const item of tooLarge) {
      const reason = `${recordBytes(item.entry)} bytes, over Kinesis' limit of ${RECORD_MAX_BYTES} bytes a record`;
      fail([item], { reason, refused: true }, new Error(reason));
    }
    const cut = chunksWithin(
      items.filter((item) => !tooLarge.includes(item)),
      { entries: PUT_RECORDS_MAX_RECORDS, bytes: PUT_RECORDS_MAX_BYTES },
      ({ entry }) => recordBytes(entry),
    );
    for (const [position, chunk] of cut.entries()) {
      const rest = cut.slice(position + 1).flat();
      try {
        const notTaken = await this.putChunk(stream, chunk, signal);
        if (!notTaken) continue;
        fail(notTaken.items, { reason: notTaken.reason, refused: false }, new Error(notTaken.reason));
      } catch (error) {
        // The request itself failed: nothing is known of this chunk. A stream that does not exist is a no to the rest as well.
        return fail([...chunk, ...rest], { reason: describeError(error), refused: isMissingStream(error) }, error);
      }
      return fail(rest, { reason: 'not sent: an earlier chunk of its stream was not taken whole', refused: false }, null);
    }
  }

  /** One PutRecords, and again with what it did not take, until all is taken (null) or the attempts are spent (what was not, and why). */
  private async putChunk(
    stream: string,
    chunk: ReadonlyArray<Item>,
    signal?: AbortSignal,
  ): Promise<{ readonly items: ReadonlyArray<Item>; readonly reason: string } | null> {
    let pending = chunk;
    let attempt = 0;
    const put = async () => {
      signal?.throwIfAborted();
      attempt += 1;
      const { FailedRecordCount, Records } = await this.client.send(
        new PutRecordsCommand({ StreamName: stream, Records: pending.map(({ entry }) => entry) }),
        { abortSignal: signal },
      );
      if (!FailedRecordCount) return;
      // A key's record not taken is sent again after its successful later ones: its order holds only
      // when everything is taken (see the README, "What it cannot do").
      pending = pending.filter((_, i) => Records?.[i]?.ErrorCode);
      const first = Records?.find((r) => r.ErrorCode);
      throw new RecordsNotTaken(
        `Kinesis did not take ${pending.length} of ${chunk.length} records on ${stream}, ${attempt} times (${first?.ErrorCode}: ${first?.ErrorMessage})`,
      );
    };
    try {
      await retryTransient(put, { transient: (error) => error instanceof RecordsNotTaken, attempts: this.attempts, backoff: this.backoff });
      return null;
    } catch (error) {
      if (!(error instanceof RecordsNotTaken)) throw error;
      return { items: pending, reason: error.message };
    }
  }
}

class RecordsNotTaken extends Error {}

/** What a record counts toward Kinesis' limits: its data and its partition key. */
function recordBytes(entry: PutRecordsRequestEntry): number {
  return (entry.Data?.byteLength ?? 0) + Buffer.byteLength(entry.PartitionKey ?? '');
}

/** Kinesis' "no such stream". */
function isMissingStream(error: unknown): boolean {
  return (error as { name?: string } | null)?.name === 'ResourceNotFoundException';
}

/** Entries cut into PutRecords requests: at most 500 and 5 MB (data plus partition key) each. */
export function chunks(entries: ReadonlyArray<PutRecordsRequestEntry>): PutRecordsRequestEntry[][] {
  return chunksWithin(entries, { entries: PUT_RECORDS_MAX_RECORDS, bytes: PUT_RECORDS_MAX_BYTES }, recordBytes);
}
