import { DeadLetterNotFound, FailureHeaders, readFailure, type DeadLetter, type DeadLetterCount, type DeadLetterScope, type DeadLetterStore } from '@boxoffice/messaging';
import kafkajs, { type Admin, type Kafka, type TopicMessages } from 'kafkajs';
import { EnvelopeHeaders, KafkaDeadLetterHeaders, replayedOffsetHeader, withoutFailureHeaders } from './kafka.headers.js';
import { deadLetterTopicOf, isDeadLetterTopic } from './kafka.topics.js';
import { readTopicToEnd, type TopicRecord } from './kafka.topic-reader.js';
import { withAdmin } from './kafka.client.js';

export interface DeadLetterTopicSummary {
  readonly topic: string;
  /**
   * Records the topic still retains. An upper bound on what `list` shows: a replayed record that
   * sits behind one still waiting is only hidden, not yet deleted (see `replay`).
   */
  readonly records: number;
}

/**
 * What the dlq tool does with Kafka dead letters: list them, send them back, throw them away.
 *
 * Kafka cannot delete one record from the middle of a log; it can only move a partition's start
 * forward (DeleteRecords). So after a replay the replayed records are removed by moving the start
 * past them when nothing still waiting sits in front of them - always the case for `replay('all')`.
 * A record replayed on its own while an older one waits is instead hidden by a marker appended to
 * the same partition (header `x-replayed-offset`), which `list` honours, and it is deleted with the
 * marker once the records in front of it are replayed or purged. The listing stays exact and the
 * log never keeps more than the records still waiting plus those markers.
 */
export class KafkaDeadLetters implements DeadLetterStore {
  /** The `<topic>.<group>.dlt` topics of the scope. */
  private readonly topics: ReadonlySet<string>;

  constructor(
    private readonly kafka: Kafka,
    scope: DeadLetterScope,
  ) {
    this.topics = new Set(scope.flatMap(({ channel, consumers }) => consumers.map((group) => deadLetterTopicOf(channel, group))));
  }

  async list(): Promise<DeadLetter[]> {
    const letters: DeadLetter[] = [];
    for (const { topic } of await this.listTopics()) letters.push(...(await this.listTopic(topic)));
    return letters;
  }

  async replay(id: string): Promise<void> {
    for (const { topic } of await this.listTopics()) {
      if ((await this.replayFrom(topic, id)) > 0) return;
    }
    throw new DeadLetterNotFound(id);
  }

  async replayAll(): Promise<number> {
    let replayed = 0;
    for (const { topic } of await this.listTopics()) replayed += await this.replayFrom(topic, 'all');
    return replayed;
  }

  async purge(): Promise<number> {
    let purged = 0;
    for (const { topic } of await this.listTopics()) {
      purged += (await this.listTopic(topic)).length;
      await this.purgeTopic(topic);
    }
    return purged;
  }

  /** The records each dead-letter topic retains: an upper bound, as `listTopics` says, read from its offsets alone. */
  async counts(): Promise<DeadLetterCount[]> {
    return (await this.listTopics()).map(({ topic, records }) => ({ store: topic, messages: records }));
  }

  /** The scope's dead-letter topics that exist, with how many records each retains. */
  async listTopics(): Promise<DeadLetterTopicSummary[]> {
    return this.withAdmin(async (admin) => {
      const topics = (await admin.listTopics()).filter((topic) => isDeadLetterTopic(topic) && this.topics.has(topic)).sort();
      const summaries: DeadLetterTopicSummary[] = [];
      for (const topic of topics) {
        // A topic listed a moment ago may be gone now (its consumer group cleaned up): skip it.
        const offsets = await admin.fetchTopicOffsets(topic).catch((error: { type?: string; cause?: { type?: string } }) => {
          // kafkajs wraps the protocol error once its retries are spent.
          if ((error.type ?? error.cause?.type) === 'UNKNOWN_TOPIC_OR_PARTITION') return null;
          throw error;
        });
        if (offsets) summaries.push({ topic, records: offsets.reduce((sum, { high, low }) => sum + Number(high) - Number(low), 0) });
      }
      return summaries;
    });
  }

  /** The dead letters waiting in a topic, oldest first per partition. */
  private async listTopic(deadLetterTopic: string): Promise<DeadLetter[]> {
    const { waiting } = await this.read(deadLetterTopic);
    return waiting.map((record) => toDeadLetter(record, deadLetterTopic));
  }

  /**
   * Sends dead letters back to the topic they came from, with the same key (so the same partition
   * and order) and the same message id, and without their failure headers, so they start again with
   * a full set of attempts. Every consumer group on that topic sees the record again; the groups that
   * handled it the first time drop it in their inbox by its id. Returns how many were replayed.
   */
  private async replayFrom(deadLetterTopic: string, which: string | 'all'): Promise<number> {
    const { waiting, highWatermarks } = await this.read(deadLetterTopic);
    const chosen = which === 'all' ? waiting : waiting.filter((record) => record.headers[EnvelopeHeaders.messageId] === which);
    if (chosen.length === 0) return 0;

    const producer = this.kafka.producer({ idempotent: true, maxInFlightRequests: 1, createPartitioner: kafkajs.Partitioners.DefaultPartitioner });
    await producer.connect();
    try {
      await producer.sendBatch({ acks: -1, topicMessages: replayMessages(chosen) });

      const replayed = new Set(chosen);
      const stillWaiting = waiting.filter((record) => !replayed.has(record));
      const trimTo = trimOffsets(highWatermarks, stillWaiting);
      const markers = chosen.filter((record) => BigInt(record.offset) >= trimTo.get(record.partition)!);
      if (markers.length > 0) {
        await producer.send({
          topic: deadLetterTopic,
          acks: -1,
          messages: markers.map((record) => ({ partition: record.partition, value: null, headers: { [replayedOffsetHeader]: record.offset } })),
        });
      }
      await this.deleteUpTo(deadLetterTopic, trimTo);
    } finally {
      await producer.disconnect();
    }
    return chosen.length;
  }

  /** Throws away everything in a dead-letter topic. */
  private async purgeTopic(deadLetterTopic: string): Promise<void> {
    assertDeadLetterTopic(deadLetterTopic);
    await this.withAdmin(async (admin) => {
      const offsets = await admin.fetchTopicOffsets(deadLetterTopic);
      // -1 means "up to the high watermark" in the DeleteRecords protocol.
      await admin.deleteTopicRecords({ topic: deadLetterTopic, partitions: offsets.map(({ partition }) => ({ partition, offset: '-1' })) });
    });
  }

  private async read(deadLetterTopic: string): Promise<{ waiting: TopicRecord[]; highWatermarks: Map<number, bigint> }> {
    assertDeadLetterTopic(deadLetterTopic);
    const records = await readTopicToEnd(this.kafka, deadLetterTopic);
    const highWatermarks = new Map<number, bigint>();
    for (const record of records) highWatermarks.set(record.partition, BigInt(record.offset) + 1n);
    return { waiting: waitingRecords(records), highWatermarks };
  }

  private async deleteUpTo(topic: string, offsets: Map<number, bigint>): Promise<void> {
    const partitions = [...offsets].map(([partition, offset]) => ({ partition, offset: offset.toString() }));
    if (partitions.length === 0) return;
    await this.withAdmin(async (admin) => {
      // kafkajs's deleteTopicRecords looks up partition leaders without loading the topic's
      // metadata first, and fails on a fresh admin client; load it.
      await admin.fetchTopicMetadata({ topics: [topic] });
      await admin.deleteTopicRecords({ topic, partitions });
    });
  }

  private withAdmin<T>(work: (admin: Admin) => Promise<T>): Promise<T> {
    return withAdmin(this.kafka, work);
  }
}

/** The records neither a replay marker nor hidden by one. */
export function waitingRecords(records: ReadonlyArray<TopicRecord>): TopicRecord[] {
  const replayed = new Set(
    records.filter((record) => record.headers[replayedOffsetHeader] !== undefined).map((record) => `${record.partition}:${record.headers[replayedOffsetHeader]}`),
  );
  return records.filter((record) => record.headers[replayedOffsetHeader] === undefined && !replayed.has(`${record.partition}:${record.offset}`));
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
  const failure = readFailure(record.headers);
  const originalPartition = record.headers[KafkaDeadLetterHeaders.originalPartition];
  const originalOffset = record.headers[KafkaDeadLetterHeaders.originalOffset];
  return {
    transport: 'kafka',
    store,
    id: record.headers[EnvelopeHeaders.messageId] ?? null,
    type: record.headers[EnvelopeHeaders.type] ?? null,
    attempts: failure.attempts ?? 0,
    lastError: failure.lastError ?? '',
    firstFailureAt: failure.firstFailureAt ?? null,
    lastFailureAt: failure.lastFailureAt ?? null,
    originalSource: record.headers[FailureHeaders.originalSource] ?? '',
    consumer: record.headers[FailureHeaders.consumer] ?? null,
    body: record.value?.toString('utf8') ?? '',
    position:
      `partition ${record.partition} offset ${record.offset}` +
      (originalPartition === undefined ? '' : `, from partition ${originalPartition} offset ${originalOffset ?? '?'}`),
  };
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

function assertDeadLetterTopic(topic: string): void {
  // A guard worth its line: purge on a real topic would delete the business's events.
  if (!isDeadLetterTopic(topic)) throw new Error(`${topic} is not a dead-letter topic (*.dlt)`);
}
