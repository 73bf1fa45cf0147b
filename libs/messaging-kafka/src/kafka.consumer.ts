import type { Envelope, MessageDefinition } from '@boxoffice/contracts';
import {
  decodeInbound,
  defaultRetryPolicy,
  delayWithJitterMs,
  hasAttemptsLeft,
  Outcome,
  recordFailure,
  silentLogger,
  systemClock,
  type Clock,
  type FailureRecord,
  type HandlerOutcome,
  type Logger,
  type MessageHandler,
  type RetryPolicy,
  type Subscription,
} from '@boxoffice/messaging';
import { setTimeout as delay } from 'node:timers/promises';
import kafkajs, { type Consumer, type EachMessagePayload, type Kafka, type KafkaMessage, type Producer } from 'kafkajs';
import { waitWithHeartbeats } from './kafka.backoff.js';
import { deadLetterHeaders, readHeaders } from './kafka.headers.js';
import { readGroupLag, type GroupLag } from './kafka.lag.js';
import { OffsetCommits } from './kafka.offset-commits.js';
import { whileKafkaSettles } from './kafka.propagation.js';
import { deadLetterTopicOf, KafkaTopics, type TopicSpec } from './kafka.topics.js';

export interface KafkaConsumerOptions {
  /** One group per subscribing service (e.g. `billing`): every group gets its own copy of each event. */
  readonly groupId: string;
  /** The service's subscriptions; those reading from RabbitMQ are left to the RabbitMQ consumer. */
  readonly subscriptions: ReadonlyArray<Subscription>;
  /** Attempts and backoff for `retry` outcomes and thrown errors. Default: 5 attempts, 1 s doubling. */
  readonly retryPolicy?: RetryPolicy;
  /** How many partitions are handled at once; within a partition records are handled one by one, in order. Default 3. */
  readonly partitionsConsumedConcurrently?: number;
  /** Where a group with no committed offset starts: the oldest record kept (default) or only new ones. */
  readonly fromBeginning?: boolean;
  /** The broker drops a member it has not heard from for this long. Default 30 s; the broker's minimum is 6 s. */
  readonly sessionTimeoutMs?: number;
  /** Default 3 s, and never more than a third of the session timeout. */
  readonly heartbeatIntervalMs?: number;
  /** How long an idle fetch waits at the broker; also roughly how long `stop` waits for one. Default 500 ms. */
  readonly maxWaitTimeMs?: number;
  /** Partitions and retention of the `<topic>.<groupId>.dlt` topics `start` creates. Default 1 partition, 14 days. */
  readonly deadLetterTopics?: Omit<TopicSpec, 'topic'>;
  readonly clock?: Clock;
  /** The jitter's source of randomness. */
  readonly random?: () => number;
  /** Retries (warn), dead letters (error), group joins and crashes. Default: silent; `counters` still count. */
  readonly logger?: Logger;
}

export interface KafkaConsumerCounters {
  /** Records a handler settled as done. */
  readonly processed: number;
  /** Attempts that failed and were tried again. */
  readonly retried: number;
  /** Records written to a dead-letter topic (poison, `dead-letter` outcomes and exhausted retries). */
  readonly deadLettered: number;
  /** Well-formed events of types this group does not subscribe to, passed over. */
  readonly skipped: number;
}

/** `rejoining`: kafkajs gave up after a crash (a broker restart, say) and the group is being joined again. */
export type KafkaConsumerState = 'new' | 'starting' | 'running' | 'rejoining' | 'stopping' | 'stopped';

/** How long to wait before joining again after a crash kafkajs does not restart from: doubles up to the max. */
const REJOIN_INITIAL_DELAY_MS = 500;
const REJOIN_MAX_DELAY_MS = 30_000;

interface Route {
  readonly accepted: MessageDefinition[];
  readonly handlers: Map<MessageDefinition, MessageHandler>;
}

type Verdict = { readonly settled: 'done' } | { readonly settled: 'dead-letter'; readonly failure: FailureRecord } | { readonly settled: 'stopped' };

const deadLetterTopicDefaults = { partitions: 1, retentionMs: 14 * 24 * 60 * 60 * 1_000 } as const;

/**
 * Consumes a service's Kafka subscriptions as one consumer group and turns each handler outcome
 * into Kafka terms.
 *
 * Kafka has no per-message ack and no delay queue: a partition is a log read in order, and the
 * group's committed offset says how far it has been settled. So a record is retried in place,
 * holding its partition for at most the retry policy's bounded backoff, and then parked in the
 * group's dead-letter topic; its offset is committed only once it is settled - handled, or its
 * dead-letter copy acknowledged. A crash anywhere before that commit redelivers the record, which
 * makes delivery at-least-once and is why handlers sit behind the inbox.
 */
export class KafkaConsumer {
  private readonly consumer: Consumer;
  private readonly deadLetters: Producer;
  private readonly routes: Map<string, Route>;
  private readonly retryPolicy: RetryPolicy;
  private readonly heartbeatIntervalMs: number;
  private readonly clock: Clock;
  private readonly random: () => number;
  private readonly logger: Logger;
  private readonly stopping = new AbortController();
  private readonly inFlight = new Set<Promise<void>>();
  private readonly commits: OffsetCommits;
  private readonly counts = { processed: 0, retried: 0, deadLettered: 0, skipped: 0 };
  private started: Promise<void> | null = null;
  private stopped: Promise<void> | null = null;
  private phase: KafkaConsumerState = 'new';
  /** The rejoin under way, if any: one at a time, however many crashes report. */
  private rejoining: Promise<void> | null = null;

  constructor(
    private readonly kafka: Kafka,
    private readonly options: KafkaConsumerOptions,
  ) {
    this.routes = routesOf(options.subscriptions);
    if (this.routes.size === 0) throw new Error(`consumer group ${options.groupId} has no Kafka subscription`);
    this.retryPolicy = options.retryPolicy ?? defaultRetryPolicy;
    this.clock = options.clock ?? systemClock;
    this.random = options.random ?? Math.random;
    this.logger = options.logger ?? silentLogger;
    const sessionTimeout = options.sessionTimeoutMs ?? 30_000;
    this.heartbeatIntervalMs = Math.min(options.heartbeatIntervalMs ?? 3_000, Math.floor(sessionTimeout / 3));
    this.consumer = kafka.consumer({
      groupId: options.groupId,
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
    return this.options.groupId;
  }

  /** The topics this group reads. */
  get topics(): string[] {
    return [...this.routes.keys()];
  }

  /** For health checks: a consumer is healthy while `running`; `stopped` also after a crash kafkajs does not restart from. */
  get state(): KafkaConsumerState {
    return this.phase;
  }

  get counters(): KafkaConsumerCounters {
    return { ...this.counts };
  }

  /** Creates the group's dead-letter topics, joins the group and starts handling records. Resolves once joined. */
  start(): Promise<void> {
    this.started ??= this.run();
    return this.started;
  }

  /**
   * Stops gracefully: fetches no more, lets each record being handled finish and commits it,
   * abandons a retry that is waiting (its record was not committed, so it is redelivered to
   * whoever gets the partition next), then leaves the group so its partitions move at once.
   */
  stop(): Promise<void> {
    this.stopped ??= this.shutdown();
    return this.stopped;
  }

  /** Committed offset against high watermark for each of the group's partitions: for health checks, tests and benchmarks. */
  async lag(): Promise<GroupLag> {
    const admin = this.kafka.admin();
    await admin.connect();
    try {
      return await readGroupLag(admin, this.groupId, this.topics);
    } finally {
      await admin.disconnect();
    }
  }

  private async run(): Promise<void> {
    const { groupId, fromBeginning = true, partitionsConsumedConcurrently = 3 } = this.options;
    this.phase = 'starting';
    try {
      await new KafkaTopics(this.kafka).ensure(
        this.topics.map((topic) => ({ ...deadLetterTopicDefaults, ...this.options.deadLetterTopics, topic: deadLetterTopicOf(topic, groupId) })),
      );
      await this.deadLetters.connect();
      await this.consumer.connect();
      // Topics created a moment ago (by this service or another) may not be known yet.
      await whileKafkaSettles(() => this.consumer.subscribe({ topics: this.topics, fromBeginning }));
      await this.consumer.run(this.runOptions(partitionsConsumedConcurrently));
    } catch (error) {
      await this.disconnect();
      throw error;
    }
    if (this.phase === 'starting') this.phase = 'running';
  }

  private runOptions(partitionsConsumedConcurrently: number) {
    return {
      // Offsets are committed by hand, only for settled records: see settle() and OffsetCommits.
      autoCommit: false,
      partitionsConsumedConcurrently,
      eachMessage: (payload: EachMessagePayload) => this.track(this.settle(payload)),
    };
  }

  /**
   * Joins the group again after kafkajs stopped the consumer, with backoff, until it works or the
   * consumer is stopped. kafkajs keeps the subscriptions; `run` is what its own restart calls. The
   * group resumes from the committed offsets, so records handled but not yet committed come
   * again, and the inbox drops them.
   */
  private async rejoin(): Promise<void> {
    this.phase = 'rejoining';
    const { partitionsConsumedConcurrently = 3 } = this.options;
    for (let delayMs = REJOIN_INITIAL_DELAY_MS; ; delayMs = Math.min(REJOIN_MAX_DELAY_MS, delayMs * 2)) {
      const waited = await delay(delayMs, undefined, { signal: this.stopping.signal }).then(
        () => true,
        () => false, // stopping
      );
      if (!waited) return;
      try {
        await this.consumer.run(this.runOptions(partitionsConsumedConcurrently));
        if (this.stopping.signal.aborted) return;
        this.phase = 'running';
        this.logger.warn(`kafka consumer ${this.groupId}: joined the group again`);
        return;
      } catch (error) {
        this.logger.warn(`kafka consumer ${this.groupId}: joining again failed (${String(error)}); next try in ${Math.min(REJOIN_MAX_DELAY_MS, delayMs * 2)} ms`);
        // A failed join leaves kafkajs half-started; stopping resets it for the next `run`.
        await this.consumer.stop().catch(() => {});
      }
    }
  }

  private async shutdown(): Promise<void> {
    const wasRunning = this.started ? await this.started.then(() => true, () => false) : false;
    if (wasRunning) {
      this.phase = 'stopping';
      this.stopping.abort();
      // Pausing stops the fetching; the records kafkajs already fetched are skipped in settle().
      try {
        this.consumer.pause(this.topics.map((topic) => ({ topic })));
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

  private async settle({ topic, partition, message, heartbeat }: EachMessagePayload): Promise<void> {
    // Left uncommitted, so it is read again by whoever owns the partition next.
    if (this.stopping.signal.aborted) return;
    const route = this.routes.get(topic)!;
    const decoded = decodeInbound(message.value ?? '', route.accepted);
    if (!decoded.ok && decoded.notSubscribed) {
      // A topic carries several event types and every group reads all of them: an event this
      // group does not subscribe to is somebody else's business, not poison.
      this.counts.skipped += 1;
    } else if (!decoded.ok) {
      // Poison: no retry can make bad bytes valid, so it goes to the dead-letter topic at once.
      const failure = recordFailure({}, decoded.error, this.clock.now());
      await this.deadLetter(topic, partition, message, failure, decoded.messageId);
    } else {
      const handler = route.handlers.get(decoded.definition)!;
      const verdict = await this.handleWithRetries(handler, decoded.envelope, heartbeat);
      if (verdict.settled === 'stopped') return;
      if (verdict.settled === 'dead-letter') {
        await this.deadLetter(topic, partition, message, verdict.failure, decoded.envelope.id);
      }
    }
    this.commits.settled(topic, partition, message.offset);
  }

  /** Retries in place: the partition waits, which is what keeps each key's records in order. */
  private async handleWithRetries(handler: MessageHandler, envelope: Envelope, heartbeat: () => Promise<void>): Promise<Verdict> {
    let failure: FailureRecord | undefined;
    for (;;) {
      const outcome = await attempt(handler, envelope);
      if (outcome.kind === 'done') {
        this.counts.processed += 1;
        return { settled: 'done' };
      }
      failure = recordFailure(failure ?? {}, outcome.reason, this.clock.now());
      if (outcome.kind === 'dead-letter' || !hasAttemptsLeft(this.retryPolicy, failure.attempts)) {
        return { settled: 'dead-letter', failure };
      }
      this.counts.retried += 1;
      const delayMs = delayWithJitterMs(this.retryPolicy, failure.attempts, this.random);
      this.logger.warn(`kafka consumer ${this.groupId}: ${envelope.type} ${envelope.id} failed, retrying in ${delayMs} ms: ${outcome.reason}`);
      const waited = await waitWithHeartbeats(delayMs, heartbeat, this.stopping.signal, this.heartbeatIntervalMs);
      if (!waited) return { settled: 'stopped' };
    }
  }

  private async deadLetter(
    topic: string,
    partition: number,
    message: KafkaMessage,
    failure: FailureRecord,
    messageId: string | null,
  ): Promise<void> {
    const deadLetterTopic = deadLetterTopicOf(topic, this.groupId);
    const origin = { topic, partition, offset: message.offset, groupId: this.groupId };
    await this.deadLetters.send({
      topic: deadLetterTopic,
      acks: -1,
      messages: [{ key: message.key, value: message.value, headers: deadLetterHeaders(readHeaders(message.headers), failure, origin, messageId) }],
    });
    this.counts.deadLettered += 1;
    this.logger.error(
      `kafka consumer ${this.groupId}: ${topic}[${partition}]@${message.offset} (${messageId ?? 'no id'}) dead-lettered to ${deadLetterTopic} after ${failure.attempts} attempt(s): ${failure.lastError}`,
    );
  }
}

/** A handler that throws is treated as asking for a retry: the error may well be transient. */
async function attempt(handler: MessageHandler, envelope: Envelope): Promise<HandlerOutcome> {
  try {
    return await handler.handle(envelope);
  } catch (error) {
    return Outcome.retry(error instanceof Error ? error.message : String(error));
  }
}

function routesOf(subscriptions: ReadonlyArray<Subscription>): Map<string, Route> {
  const routes = new Map<string, Route>();
  for (const { source, messages, handler, consumer } of subscriptions) {
    if (source.transport !== 'kafka') continue;
    let route = routes.get(source.topic);
    if (!route) routes.set(source.topic, (route = { accepted: [], handlers: new Map() }));
    for (const definition of messages) {
      if (route.handlers.has(definition)) {
        throw new Error(`${definition.type} v${definition.version} on ${source.topic} has two handlers (second: ${consumer})`);
      }
      route.accepted.push(definition);
      route.handlers.set(definition, handler);
    }
  }
  return routes;
}

