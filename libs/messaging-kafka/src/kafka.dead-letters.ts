import {
  DeadLetterMarks,
  DeadLetterShelf,
  EnvelopeHeaders,
  FailureHeaders,
  logDeadLetterOf,
  type DeadLetter,
  type DeadLetterCount,
  type DeadLetterScope,
} from '@boxoffice/messaging';
import kafkajs, { type Kafka, type TopicMessages } from 'kafkajs';
import { withAdmin } from './kafka.client.js';
import { readRecordTimes, readRetentions } from './kafka.expiry.js';
import { KafkaDeadLetterHeaders, replayedOffsetHeader, withoutFailureHeaders } from './kafka.headers.js';
import { readTopicToEnd, type TopicRecord } from './kafka.topic-reader.js';
import { deadLetterTopicOf, isDeadLetterTopic } from './kafka.topics.js';

/**
 * A replay marker (`x-replayed-offset: <offset>`) hides the record at that offset of its own
 * partition; a purge moves the partition's start instead (DeleteRecords), so it needs no marker.
 */
const marks = new DeadLetterMarks<TopicRecord>({
  positionOf: (record) => ({ lane: String(record.partition), at: BigInt(record.offset) }),
  markOf: (record) => {
    const offset = record.headers[replayedOffsetHeader];
    return offset === undefined ? null : { replayed: { lane: String(record.partition), at: BigInt(offset) } };
  },
});

/**
 * What the dlq tool does with Kafka dead letters (DeadLetterShelf's list, replay, purge), over
 * the `<topic>.<group>.dlt` topics of a scope.
 *
 * Kafka cannot delete one record from the middle of a log; it can only move a partition's start
 * forward (DeleteRecords). So after a replay the replayed records are removed by moving the start
 * past them when nothing still waiting sits in front of them - always the case for `replayAll`.
 * A record replayed on its own while an older one waits is instead hidden by a marker appended to
 * the same partition (DeadLetterMarks), and it is deleted with the marker once the records in
 * front of it are replayed or purged. The listing stays exact and the log never keeps more than
 * the records still waiting plus those markers.
 */
export class KafkaDeadLetters extends DeadLetterShelf {
  /** The `<topic>.<group>.dlt` topics of the scope. */
  private readonly topics: ReadonlySet<string>;

  constructor(
    private readonly kafka: Kafka,
    scope: DeadLetterScope,
  ) {
    super();
    this.topics = new Set(scope.flatMap(({ channel, consumers }) => consumers.map((group) => deadLetterTopicOf(channel, group))));
  }

  /**
   * The records each dead-letter topic retains, read from its offsets: an upper bound on what
   * `list` shows, since a replayed record behind one still waiting is hidden, not yet deleted.
   * With them, the time of the oldest (the record at the start of each partition, where a replay
   * or purge moves the start: one waiting, never a marker) and the topic's retention, which
   * deletes it, replayed or not, once that time is older.
   */
  async counts(): Promise<DeadLetterCount[]> {
    const retained = await this.retained();
    return Promise.all(
      retained.map(async ({ topic, records, starts, retentionMs }) => {
        const times = await readRecordTimes(this.kafka, topic, starts);
        const oldestAt = records === 0 ? null : times.size > 0 ? Math.min(...times.values()) : undefined;
        return {
          store: topic,
          messages: records,
          ...(oldestAt !== undefined ? { oldestAt } : {}),
          ...(retentionMs !== undefined ? { retentionMs } : {}),
        };
      }),
    );
  }

  protected async stores(): Promise<string[]> {
    return (await this.retained()).map(({ topic }) => topic);
  }

  protected async listIn(topic: string): Promise<DeadLetter[]> {
    const { waiting } = await this.read(topic);
    return waiting.map((record) => toDeadLetter(record, topic));
  }

  /**
   * Sends dead letters back to the topic they came from, with the same key (so the same partition
   * and order) and the same message id, and without their failure headers, so they start again with
   * a full set of attempts. Every consumer group on that topic sees the record again; the groups that
   * handled it the first time drop it in their inbox by its id.
   */
  protected async replayIn(topic: string, which: string | 'all'): Promise<number> {
    const { waiting, highWatermarks } = await this.read(topic);
    const chosen = which === 'all' ? waiting : waiting.filter((record) => record.headers[EnvelopeHeaders.messageId] === which);
    if (chosen.length === 0) return 0;

    const producer = this.kafka.producer({
      idempotent: true,
      maxInFlightRequests: 1,
      createPartitioner: kafkajs.Partitioners.DefaultPartitioner,
    });
    await producer.connect();
    try {
      await producer.sendBatch({ acks: -1, topicMessages: replayMessages(chosen) });

      const replayed = new Set(chosen);
      const trimTo = trimOffsets(
        highWatermarks,
        waiting.filter((record) => !replayed.has(record)),
      );
      const markers = chosen.filter((record) => BigInt(record.offset) >= trimTo.get(record.partition)!);
      if (markers.length > 0) {
        await producer.send({
          topic,
          acks: -1,
          messages: markers.map((record) => ({
            partition: record.partition,
            value: null,
            headers: { [replayedOffsetHeader]: record.offset },
          })),
        });
      }
      await this.deleteUpTo(topic, trimTo);
    } finally {
      await producer.disconnect();
    }
    return chosen.length;
  }

  /** Throws away everything in a dead-letter topic: its start moves to its end. */
  protected async purgeIn(topic: string): Promise<number> {
    const { waiting } = await this.read(topic);
    await withAdmin(this.kafka, async (admin) => {
      const offsets = await admin.fetchTopicOffsets(topic);
      // -1 means "up to the high watermark" in the DeleteRecords protocol.
      await admin.deleteTopicRecords({ topic, partitions: offsets.map(({ partition }) => ({ partition, offset: '-1' })) });
    });
    return waiting.length;
  }

  /**
   * The scope's dead-letter topics that exist, with how many records each retains, where each
   * partition that holds any starts, and the topic's retention.
   */
  private retained(): Promise<Retained[]> {
    return withAdmin(this.kafka, async (admin) => {
      const topics = (await admin.listTopics()).filter((topic) => isDeadLetterTopic(topic) && this.topics.has(topic)).sort();
      const found: Array<Omit<Retained, 'retentionMs'>> = [];
      for (const topic of topics) {
        // A topic listed a moment ago may be gone now (its consumer group cleaned up): skip it.
        const offsets = await admin.fetchTopicOffsets(topic).catch(unlessGone(null));
        if (!offsets) continue;
        const holding = offsets.filter(({ high, low }) => Number(high) > Number(low));
        found.push({
          topic,
          records: holding.reduce((sum, { high, low }) => sum + Number(high) - Number(low), 0),
          starts: new Map(holding.map(({ partition, low }) => [partition, Number(low)])),
        });
      }
      const retentions = await readRetentions(
        admin,
        found.map(({ topic }) => topic),
      ).catch(unlessGone(new Map<string, number | null>()));
      return found.map((topic) => ({ ...topic, retentionMs: retentions.get(topic.topic) }));
    });
  }

  private async read(topic: string): Promise<{ waiting: TopicRecord[]; highWatermarks: Map<number, bigint> }> {
    // A guard worth its line: purge on a real topic would delete the business's events.
    if (!isDeadLetterTopic(topic)) throw new Error(`${topic} is not a dead-letter topic (*.dlt)`);
    const records = await readTopicToEnd(this.kafka, topic);
    const highWatermarks = new Map<number, bigint>();
    for (const record of records) highWatermarks.set(record.partition, BigInt(record.offset) + 1n);
    return { waiting: waitingRecords(records), highWatermarks };
  }

  private async deleteUpTo(topic: string, offsets: Map<number, bigint>): Promise<void> {
    const partitions = [...offsets].map(([partition, offset]) => ({ partition, offset: offset.toString() }));
    if (partitions.length === 0) return;
    await withAdmin(this.kafka, async (admin) => {
      // kafkajs's deleteTopicRecords looks up partition leaders without loading the topic's
      // metadata first, and fails on a fresh admin client; load it.
      await admin.fetchTopicMetadata({ topics: [topic] });
      await admin.deleteTopicRecords({ topic, partitions });
    });
  }
}

interface Retained {
  readonly topic: string;
  readonly records: number;
  /** Partition -> the offset of its oldest record, for the partitions that hold any. */
  readonly starts: ReadonlyMap<number, number>;
  /** Undefined when the topic went before its configuration was read. */
  readonly retentionMs: number | null | undefined;
}

/** `fallback` where a topic listed a moment ago is gone now; kafkajs wraps the protocol error once its retries are spent. */
function unlessGone<T>(fallback: T): (error: { type?: string; cause?: { type?: string } }) => T {
  return (error) => {
    if ((error.type ?? error.cause?.type) === 'UNKNOWN_TOPIC_OR_PARTITION') return fallback;
    throw error;
  };
}

/** The records neither a replay marker nor hidden by one. */
export function waitingRecords(records: ReadonlyArray<TopicRecord>): TopicRecord[] {
  return marks.waiting(records);
}

/**
 * Per partition read, how far its start can move: to the oldest record still waiting, or past
 * everything read if none is. Never past what was read, so a dead letter that arrived meanwhile stays.
 */
export function trimOffsets(highWatermarks: ReadonlyMap<number, bigint>, stillWaiting: ReadonlyArray<TopicRecord>): Map<number, bigint> {
  const trimTo = new Map(highWatermarks);
  for (const record of stillWaiting) {
    const offset = BigInt(record.offset);
    if (offset < trimTo.get(record.partition)!) trimTo.set(record.partition, offset);
  }
  return trimTo;
}

export function toDeadLetter(record: TopicRecord, store: string): DeadLetter {
  const body = record.value?.toString('utf8') ?? '';
  return logDeadLetterOf({ transport: 'kafka', store, headers: record.headers, body, position: positionOf(record) });
}

/** Where a dead letter sits in its topic, and where it sat in the one it came from. */
function positionOf({ partition, offset, headers }: TopicRecord): string {
  const originalPartition = headers[KafkaDeadLetterHeaders.originalPartition];
  const here = `partition ${partition} offset ${offset}`;
  if (originalPartition === undefined) return here;
  return `${here}, from partition ${originalPartition} offset ${headers[KafkaDeadLetterHeaders.originalOffset] ?? '?'}`;
}

function replayMessages(records: ReadonlyArray<TopicRecord>): TopicMessages[] {
  const byTopic = new Map<string, TopicMessages>();
  for (const record of records) {
    const topic = record.headers[FailureHeaders.originalSource];
    if (!topic) throw new Error(`dead letter at ${record.partition}:${record.offset} does not say where it came from`);
    let group = byTopic.get(topic);
    if (!group) byTopic.set(topic, (group = { topic, messages: [] }));
    group.messages.push({ key: record.key, value: record.value, headers: withoutFailureHeaders(record.headers) });
  }
  return [...byTopic.values()];
}
