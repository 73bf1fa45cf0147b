import {
  describeError,
  LogConsumer,
  missingIdHeader,
  processUntilCommitted,
  renewEvery,
  settleInOrder,
  silentLogger,
  untilStopped,
  type ConsumerSpec,
  type Logger,
  type OrderedLog,
  type Settlement,
  type SourceSemantics,
} from '@boxoffice/messaging';
import kafkajs, { type Consumer, type EachBatchPayload, type Kafka, type KafkaMessage, type Producer } from 'kafkajs';
import { waitWithHeartbeats } from './kafka.backoff.js';
import { KafkaDeadLetterHeaders, readHeaders } from './kafka.headers.js';
import { OffsetCommits } from './kafka.offset-commits.js';
import { whileKafkaSettles } from './kafka.propagation.js';
import { deadLetterTopicOf, KafkaTopics, type TopicSpec } from './kafka.topics.js';

export interface KafkaConsumerOptions {
  /** Where a group with no committed offset starts: the oldest record kept (default) or only new ones. */
  readonly fromBeginning?: boolean;
  /**
   * The broker drops a member it has not heard from for this long. Default 30 s; the broker's
   * minimum is 6 s. A shorter timeout moves a dead member's partitions sooner, and throws out a
   * live one whose heartbeats are late under load: Kafka's own default, 45 s, leans the other way.
   */
  readonly sessionTimeoutMs?: number;
  /** Default 3 s, and never more than a third of the session timeout. */
  readonly heartbeatIntervalMs?: number;
  /** How long an idle fetch waits at the broker; also roughly how long `stop` waits for one. Default 500 ms. */
  readonly maxWaitTimeMs?: number;
  /** Partitions and retention of the `<topic>.<group>.dlt` topics `start` creates. Default 1 partition, 14 days. */
  readonly deadLetterTopics?: Omit<TopicSpec, 'topic'>;
  readonly logger?: Logger;
}

/** A partition is a log read in order, and every group reads every event type on a topic. */
const semantics: SourceSemantics = { ordered: true, exclusive: false };

/** A record of a chunk, with the headers it carries now (a retried one's are new). */
interface PendingRecord {
  readonly record: KafkaMessage;
  readonly headers: Record<string, string>;
}

const deadLetterTopicDefaults = { partitions: 1, retentionMs: 14 * 24 * 60 * 60 * 1_000 } as const;

/**
 * A consumer group on Kafka topics, in batches: kafkajs's eachBatch hands over what one fetch
 * returned for one partition, and it goes to the pipeline in chunks of the batch size, in order.
 *
 * Kafka has no per-message ack and no delay queue: the group's committed offset says how far a
 * partition is settled. So after each chunk the consumer writes its dead letters to the group's
 * dead-letter topic, then commits the offset of the last settled record. A message the pipeline
 * says to retry is retried in place: the partition waits its backoff (with heartbeats, so the
 * group keeps the member), and the messages behind it, held by the pipeline, go with it. A crash
 * anywhere before a commit redelivers the chunk, and the inbox turns what was done into duplicates.
 */
export class KafkaConsumer extends LogConsumer {
  private readonly consumer: Consumer;
  private readonly deadLetters: Producer;
  private readonly heartbeatIntervalMs: number;
  private readonly logger: Logger;
  private readonly stopping = new AbortController();
  private readonly inFlight = new Set<Promise<void>>();
  private readonly commits: OffsetCommits;
  /** The rejoin under way, if any: one at a time, however many crashes report. */
  private rejoining: Promise<void> | null = null;

  constructor(
    private readonly kafka: Kafka,
    private readonly spec: ConsumerSpec,
    private readonly options: KafkaConsumerOptions = {},
  ) {
    super();
    this.logger = options.logger ?? silentLogger;
    const sessionTimeout = options.sessionTimeoutMs ?? 30_000;
    this.heartbeatIntervalMs = Math.min(options.heartbeatIntervalMs ?? 3_000, Math.floor(sessionTimeout / 3));
    this.consumer = kafka.consumer({
      groupId: spec.consumer,
      sessionTimeout,
      heartbeatInterval: this.heartbeatIntervalMs,
      maxWaitTimeInMs: options.maxWaitTimeMs ?? 500,
      allowAutoTopicCreation: false,
    });
    this.deadLetters = kafka.producer({
      idempotent: true,
      maxInFlightRequests: 1,
      createPartitioner: kafkajs.Partitioners.DefaultPartitioner,
      allowAutoTopicCreation: false,
    });
    this.commits = new OffsetCommits(
      (topic, partition, offset) => this.consumer.commitOffsets([{ topic, partition, offset }]),
      (error, topic, partition) =>
        this.logger.warn(
          `kafka consumer ${this.groupId}: committing ${topic}[${partition}] failed (${String(error)}); the next commit covers it`,
        ),
    );
    this.consumer.on(this.consumer.events.GROUP_JOIN, ({ payload }) =>
      this.logger.log(`kafka consumer ${payload.groupId}: joined, assigned ${JSON.stringify(payload.memberAssignment)}`),
    );
    this.consumer.on(this.consumer.events.CRASH, ({ payload }) => {
      this.logger.error(
        `kafka consumer ${payload.groupId}: crashed${payload.restart ? ', kafkajs restarts it' : ', joining again'}`,
        payload.error,
      );
      // kafkajs restarts after the errors it deems retriable. After the others it has stopped for
      // good, and some of those are passing too: right after a broker restart, "Failed to find
      // group coordinator" while the coordinator is still loading. So we join again ourselves.
      if (!payload.restart && !this.stopping.signal.aborted) this.rejoining ??= this.rejoin().finally(() => (this.rejoining = null));
    });
  }

  get groupId(): string {
    return this.spec.consumer;
  }

  /**
   * Creates the group's dead-letter topics, joins the group and starts consuming; `start` resolves
   * once joined. A failure disconnects again and leaves the consumer 'stopped' (`start` may retry).
   */
  protected async run(): Promise<void> {
    this.phase = 'starting';
    try {
      await new KafkaTopics(this.kafka).ensure(
        this.spec.channels.map((topic) => ({
          ...deadLetterTopicDefaults,
          ...this.options.deadLetterTopics,
          topic: deadLetterTopicOf(topic, this.groupId),
        })),
      );
      await this.deadLetters.connect();
      await this.consumer.connect();
      // Topics created a moment ago (by this service or another) may not be known yet.
      await whileKafkaSettles(() =>
        this.consumer.subscribe({ topics: [...this.spec.channels], fromBeginning: this.options.fromBeginning ?? true }),
      );
      await this.consumer.run(this.runOptions());
    } catch (error) {
      await this.disconnect();
      throw error;
    }
    if (this.phase === 'starting') this.phase = 'running';
  }

  private runOptions() {
    return {
      // Offsets are committed by hand, only for settled records: see consumeBatch() and OffsetCommits.
      autoCommit: false,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: this.spec.concurrency,
      eachBatch: (payload: EachBatchPayload) => this.track(this.consumeBatch(payload)),
    };
  }

  /**
   * Joins the group again after kafkajs stopped the consumer, with backoff, until it works or the
   * consumer is stopped. The group resumes from the committed offsets, so records handled but not
   * yet committed come again, and the inbox drops them.
   */
  private async rejoin(): Promise<void> {
    this.phase = 'rejoining';
    const joined = await untilStopped(
      () =>
        this.consumer.run(this.runOptions()).then(
          () => true,
          async (error: unknown) => {
            // A failed join leaves kafkajs half-started; stopping resets it for the next `run`.
            await this.consumer.stop().catch(() => {});
            throw error;
          },
        ),
      {
        signal: this.stopping.signal,
        waitFirst: true,
        onFailure: (error, wait) =>
          this.logger.warn(`kafka consumer ${this.groupId}: joining again failed (${describeError(error)}); trying again in ${wait} ms`),
      },
    );
    if (!joined || this.stopping.signal.aborted) return;
    this.phase = 'running';
    this.logger.warn(`kafka consumer ${this.groupId}: joined the group again`);
  }

  /**
   * Leaves at once, settling and committing nothing more: what a crash does. The transport calls
   * it for consumers still running when it closes.
   */
  async abandon(): Promise<void> {
    await this.stopWith(() => {
      this.stopping.abort();
      return this.disconnect();
    });
  }

  /**
   * Stops gracefully: fetches no more, lets each chunk being handled finish and commits it,
   * abandons a retry that is waiting (its record was not committed, so it is redelivered to
   * whoever gets the partition next), then leaves the group so its partitions move at once.
   */
  protected async shutdown(): Promise<void> {
    if (await this.startedWell()) {
      this.phase = 'stopping';
      this.stopping.abort();
      // Pausing stops the fetching; what kafkajs already fetched is left alone in consumeBatch().
      try {
        this.consumer.pause(this.spec.channels.map((topic) => ({ topic })));
      } catch {
        // Between a crash and the next join there is no group to pause, and nothing is fetched.
      }
      await Promise.allSettled([...this.inFlight]);
      // kafkajs commits nothing once it is stopping, so every commit has to be made before this.
      await this.commits.flush();
    }
    await this.disconnect();
  }

  private async disconnect(): Promise<void> {
    await Promise.allSettled([this.consumer.disconnect(), this.deadLetters.disconnect()]);
    this.phase = 'stopped';
  }

  private async track(work: Promise<void>): Promise<void> {
    this.inFlight.add(work);
    try {
      await work;
    } finally {
      this.inFlight.delete(work);
    }
  }

  /**
   * One fetch's records of one partition, in chunks of the batch size, each settled in order
   * (settleInOrder) before the next: dead letters parked, then the offset committed past what is
   * settled; a retry waits in place, heartbeating, and goes again from the retried record.
   */
  private async consumeBatch({ batch, heartbeat, isRunning, isStale, resolveOffset }: EachBatchPayload): Promise<void> {
    const { topic, partition } = batch;
    const { maxMessages } = this.spec.batch;
    const going = () => isRunning() && !isStale() && !this.stopping.signal.aborted;
    const log: OrderedLog<PendingRecord> = {
      process: (records) => this.process(topic, records, heartbeat, going),
      commit: async (records, settlements) => {
        await this.deadLetter(topic, partition, records, settlements);
        const last = records[records.length - 1].record.offset;
        // Resolved: kafkajs fetches on from here. Committed: the group restarts from here.
        resolveOffset(last);
        this.commits.settled(topic, partition, last);
      },
      wait: async (ms) => (await waitWithHeartbeats(ms, heartbeat, this.stopping.signal, this.heartbeatIntervalMs)) && going(),
      retried: (pending, headers) => ({ ...pending, headers }),
    };
    for (let i = 0; i < batch.messages.length && going(); i += maxMessages) {
      const chunk = batch.messages.slice(i, i + maxMessages).map((record) => ({ record, headers: readHeaders(record.headers) }));
      if (!(await settleInOrder(chunk, log))) return; // stopping or the partition moved: the rest is read again by its next owner
      await heartbeat();
    }
  }

  /**
   * The pipeline's settlements, tried again while the database is away; null when stopping, when
   * the partition moved, or when a heartbeat failed meanwhile (the group rebalances).
   */
  private process(
    topic: string,
    records: ReadonlyArray<PendingRecord>,
    heartbeat: () => Promise<void>,
    going: () => boolean,
  ): Promise<Settlement[] | null> {
    const rebalancing = new AbortController();
    const messages = records.map(({ record, headers }) => ({ body: record.value, headers }));
    return processUntilCommitted(this.spec.pipeline, topic, messages, semantics, {
      signal: AbortSignal.any([this.stopping.signal, rebalancing.signal]),
      settleable: going,
      // A batch waiting on a lock or a busy database must not cost the member its place in the group.
      keepAlive: () => renewEvery(this.heartbeatIntervalMs, heartbeat, () => rebalancing.abort()),
      logger: this.logger,
      label: `kafka consumer ${this.groupId}`,
    });
  }

  /** Parks the dead letters of a settled prefix on the group's dead-letter topic, with where each sat. */
  private async deadLetter(
    topic: string,
    partition: number,
    records: ReadonlyArray<PendingRecord>,
    settlements: ReadonlyArray<Settlement>,
  ): Promise<void> {
    const messages = records.flatMap(({ record }, i) => {
      const settlement = settlements[i];
      if (settlement.kind !== 'dead-letter') return [];
      const headers = {
        ...settlement.headers,
        [KafkaDeadLetterHeaders.originalPartition]: String(partition),
        [KafkaDeadLetterHeaders.originalOffset]: record.offset,
        ...missingIdHeader(settlement.headers, settlement.messageId),
      };
      return [{ key: record.key, value: record.value, headers }];
    });
    if (messages.length > 0) await this.deadLetters.send({ topic: deadLetterTopicOf(topic, this.groupId), acks: -1, messages });
  }
}
