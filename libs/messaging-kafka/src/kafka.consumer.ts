import {
  Backoff,
  reconnectBackoff,
  silentLogger,
  type ConsumerSpec,
  type ConsumerState,
  type Logger,
  type Settlement,
  type SourceSemantics,
  type TransportConsumer,
} from '@boxoffice/messaging';
import { setTimeout as delay } from 'node:timers/promises';
import kafkajs, { type Batch, type Consumer, type EachBatchPayload, type Kafka, type KafkaMessage, type Producer } from 'kafkajs';
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
export class KafkaConsumer implements TransportConsumer {
  private readonly consumer: Consumer;
  private readonly deadLetters: Producer;
  private readonly heartbeatIntervalMs: number;
  private readonly logger: Logger;
  private readonly stopping = new AbortController();
  private readonly inFlight = new Set<Promise<void>>();
  private readonly commits: OffsetCommits;
  private started: Promise<void> | null = null;
  private stopped: Promise<void> | null = null;
  private phase: ConsumerState = 'new';
  /** The rejoin under way, if any: one at a time, however many crashes report. */
  private rejoining: Promise<void> | null = null;

  constructor(
    private readonly kafka: Kafka,
    private readonly spec: ConsumerSpec,
    private readonly options: KafkaConsumerOptions = {},
  ) {
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
      (error, topic, partition) => this.logger.warn(`kafka consumer ${this.groupId}: committing ${topic}[${partition}] failed (${String(error)}); the next commit covers it`),
    );
    this.consumer.on(this.consumer.events.GROUP_JOIN, ({ payload }) =>
      this.logger.log(`kafka consumer ${payload.groupId}: joined, assigned ${JSON.stringify(payload.memberAssignment)}`),
    );
    this.consumer.on(this.consumer.events.CRASH, ({ payload }) => {
      this.logger.error(`kafka consumer ${payload.groupId}: crashed${payload.restart ? ', kafkajs restarts it' : ', joining again'}`, payload.error);
      // kafkajs restarts after the errors it deems retriable. After the others it has stopped for
      // good, and some of those are passing too: right after a broker restart, "Failed to find
      // group coordinator" while the coordinator is still loading. So we join again ourselves.
      if (!payload.restart && !this.stopping.signal.aborted) this.rejoining ??= this.rejoin().finally(() => (this.rejoining = null));
    });
  }

  get groupId(): string {
    return this.spec.consumer;
  }

  get state(): ConsumerState {
    return this.phase;
  }

  /** Creates the group's dead-letter topics, joins the group and starts consuming. Resolves once joined. */
  start(): Promise<void> {
    // A start that failed (the broker away, say) may be tried again: it is not remembered.
    this.started ??= this.run().catch((error: unknown) => {
      this.started = null;
      throw error;
    });
    return this.started;
  }

  /**
   * Stops gracefully: fetches no more, lets each chunk being handled finish and commits it,
   * abandons a retry that is waiting (its record was not committed, so it is redelivered to
   * whoever gets the partition next), then leaves the group so its partitions move at once.
   */
  stop(): Promise<void> {
    this.stopped ??= this.shutdown();
    return this.stopped;
  }

  private async run(): Promise<void> {
    this.phase = 'starting';
    try {
      await new KafkaTopics(this.kafka).ensure(
        this.spec.channels.map((topic) => ({ ...deadLetterTopicDefaults, ...this.options.deadLetterTopics, topic: deadLetterTopicOf(topic, this.groupId) })),
      );
      await this.deadLetters.connect();
      await this.consumer.connect();
      // Topics created a moment ago (by this service or another) may not be known yet.
      await whileKafkaSettles(() => this.consumer.subscribe({ topics: [...this.spec.channels], fromBeginning: this.options.fromBeginning ?? true }));
      await this.consumer.run(this.runOptions());
    } catch (error) {
      await this.disconnect();
      throw error;
    }
    if (this.phase === 'starting') this.phase = 'running';
  }

  private runOptions() {
    return {
      // Offsets are committed by hand, only for settled records: see settleChunk() and OffsetCommits.
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
    const backoff = new Backoff(reconnectBackoff);
    for (;;) {
      const waited = await delay(backoff.next(), undefined, { signal: this.stopping.signal }).then(
        () => true,
        () => false, // stopping
      );
      if (!waited) return;
      try {
        await this.consumer.run(this.runOptions());
        if (this.stopping.signal.aborted) return;
        this.phase = 'running';
        this.logger.warn(`kafka consumer ${this.groupId}: joined the group again`);
        return;
      } catch (error) {
        this.logger.warn(`kafka consumer ${this.groupId}: joining again failed (${String(error)})`);
        // A failed join leaves kafkajs half-started; stopping resets it for the next `run`.
        await this.consumer.stop().catch(() => {});
      }
    }
  }

  /**
   * Leaves at once, settling and committing nothing more: what a crash does. The transport calls
   * it for consumers still running when it closes.
   */
  async abandon(): Promise<void> {
    if (this.phase === 'stopped' || this.stopped) return;
    this.stopping.abort();
    this.stopped = this.disconnect();
    await this.stopped;
  }

  private async shutdown(): Promise<void> {
    const wasRunning = this.started ? await this.started.then(() => true, () => false) : false;
    if (wasRunning) {
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

  /** One fetch's records of one partition, in chunks of the batch size, in order. */
  private async consumeBatch({ batch, heartbeat, isRunning, isStale, resolveOffset }: EachBatchPayload): Promise<void> {
    const { maxMessages } = this.spec.batch;
    const going = () => isRunning() && !isStale() && !this.stopping.signal.aborted;
    for (let i = 0; i < batch.messages.length && going(); i += maxMessages) {
      const settled = await this.settleChunk(batch, batch.messages.slice(i, i + maxMessages), heartbeat, going, resolveOffset);
      if (!settled) return; // stopping or the partition moved: the rest is read again by its next owner
      await heartbeat();
    }
  }

  /** Hands a chunk to the pipeline, retries in place what it says to retry, and commits what is settled. */
  private async settleChunk(
    batch: Batch,
    chunk: KafkaMessage[],
    heartbeat: () => Promise<void>,
    going: () => boolean,
    resolveOffset: (offset: string) => void,
  ): Promise<boolean> {
    const { topic, partition } = batch;
    let pending = chunk.map((record) => ({ record, headers: readHeaders(record.headers) }));
    while (pending.length > 0) {
      const settlements = await this.process(topic, pending, heartbeat, going);
      if (!settlements) return false;
      const firstRetry = settlements.findIndex((s) => s.kind === 'retry' || s.kind === 'held');
      const settledUpTo = firstRetry < 0 ? pending.length : firstRetry;
      await this.deadLetter(topic, partition, pending.slice(0, settledUpTo), settlements.slice(0, settledUpTo));
      if (settledUpTo > 0) {
        const last = pending[settledUpTo - 1].record.offset;
        // Resolved: kafkajs fetches on from here. Committed: the group restarts from here.
        resolveOffset(last);
        this.commits.settled(topic, partition, last);
      }
      if (firstRetry < 0) return true;
      const retry = settlements[firstRetry];
      // The pipeline holds back what follows a retry, so the first unsettled one is the retry itself.
      const delayMs = retry.kind === 'retry' ? retry.delayMs : 0;
      const waited = await waitWithHeartbeats(delayMs, heartbeat, this.stopping.signal, this.heartbeatIntervalMs);
      if (!waited || !going()) return false;
      pending = pending.slice(firstRetry).map((entry, i) => (i === 0 && retry.kind === 'retry' ? { ...entry, headers: retry.headers } : entry));
    }
    return true;
  }

  /** The pipeline's settlements, trying again (with heartbeats) while the database is away; null when stopping. */
  private async process(
    topic: string,
    pending: ReadonlyArray<{ record: KafkaMessage; headers: Record<string, string> }>,
    heartbeat: () => Promise<void>,
    going: () => boolean,
  ): Promise<Settlement[] | null> {
    const backoff = new Backoff(reconnectBackoff);
    for (;;) {
      // A batch waiting on a lock or a busy database must not cost the member its place in the group.
      const beating = setInterval(() => void heartbeat().catch(() => undefined), this.heartbeatIntervalMs);
      try {
        return await this.spec.pipeline.process(topic, pending.map(({ record, headers }) => ({ body: record.value, headers })), semantics);
      } catch (error) {
        if (!going()) return null;
        const wait = backoff.next();
        this.logger.warn(`kafka consumer ${this.groupId}: a batch of ${pending.length} from ${topic} failed (${String(error)}); trying it again in ${wait} ms`);
        if (!(await waitWithHeartbeats(wait, heartbeat, this.stopping.signal, this.heartbeatIntervalMs))) return null;
      } finally {
        clearInterval(beating);
      }
    }
  }

  private async deadLetter(
    topic: string,
    partition: number,
    entries: ReadonlyArray<{ record: KafkaMessage }>,
    settlements: ReadonlyArray<Settlement>,
  ): Promise<void> {
    const messages = entries.flatMap(({ record }, i) => {
      const settlement = settlements[i];
      if (settlement.kind !== 'dead-letter') return [];
      return [
        {
          key: record.key,
          value: record.value,
          headers: {
            ...settlement.headers,
            [KafkaDeadLetterHeaders.originalPartition]: String(partition),
            [KafkaDeadLetterHeaders.originalOffset]: record.offset,
            ...(settlement.messageId && !settlement.headers['message-id'] ? { 'message-id': settlement.messageId } : {}),
          },
        },
      ];
    });
    if (messages.length === 0) return;
    await this.deadLetters.send({ topic: deadLetterTopicOf(topic, this.groupId), acks: -1, messages });
  }
}
