import type { Channel, ChannelModel, ConsumeMessage } from 'amqplib';
import { setTimeout as delay } from 'node:timers/promises';
import {
  decodeInbound,
  defaultRetryPolicy,
  DeadLetterHeaders,
  Outcome,
  silentLogger,
  systemClock,
  type Clock,
  type HandlerOutcome,
  type Logger,
  type RabbitMqSource,
  type RetryPolicy,
  type Subscription,
} from '@boxoffice/messaging';
import type { RabbitMqConnection } from './rabbitmq.connection.js';
import { ConfirmedSender } from './rabbitmq.confirmed-sender.js';
import { planFailure } from './rabbitmq.failure-plan.js';
import { copyOptionsOf, readFailureRecord } from './rabbitmq.message.js';
import { declareSourceTopology } from './rabbitmq.topology.js';

export interface RabbitMqConsumerOptions {
  /** Unacked deliveries the broker sends ahead, per queue. A little above `concurrency` keeps handlers busy. */
  readonly prefetch?: number;
  /** Handler calls running at once, per subscription. */
  readonly concurrency?: number;
  readonly retryPolicy?: RetryPolicy;
  readonly clock?: Clock;
  /** How long `stop()` waits for running handlers; after that their messages are left to redelivery. */
  readonly stopTimeoutMs?: number;
  readonly logger?: Logger;
  /** Called for every delivery, before it is decoded and handled: a hook for metrics, tracing and tests. */
  readonly onDelivery?: (delivery: DeliveryInfo) => void;
}

export interface DeliveryInfo {
  readonly consumer: string;
  readonly queue: string;
  readonly messageId: string | undefined;
  /** Failed attempts before this one, from the `x-attempts` header: 0 on a first delivery. */
  readonly attempts: number;
  /** The broker delivered it before and it was never acked: a consumer died or lost its connection. */
  readonly redelivered: boolean;
}

type Failed = Exclude<HandlerOutcome, { kind: 'done' }>;

type RabbitMqSubscription = Subscription & { readonly source: RabbitMqSource };

/** One subscription's consuming state: its channel on the current connection and its deliveries waiting for a handler slot. */
interface Lane {
  readonly subscription: RabbitMqSubscription;
  channel: Channel | null;
  consumerTag: string | null;
  /** A lone closed channel is being replaced; one attempt loop at a time. */
  resubscribing: boolean;
  running: number;
  readonly waiting: Array<{ readonly channel: Channel; readonly message: ConsumeMessage }>;
}

/**
 * Competing consumers on RabbitMQ work queues. Each delivery is decoded at the boundary, handed
 * to its subscription's handler, and settled by the handler's outcome:
 *
 * - `done`: ack. Only after the handler resolved, and the handler commits its database
 *   transaction (inbox row included) inside, so an ack never precedes the work it confirms.
 * - `retry` (or a thrown error): a copy goes to the delay queue of its backoff level with updated
 *   failure headers, and only once RabbitMQ confirmed the copy is the original acked. A crash
 *   between the two leaves the message twice; the consumer's inbox absorbs the second one.
 * - no attempts left, `dead-letter`, or a message that does not decode (poison): a copy goes to
 *   `<queue>.dlq` with its failure headers, then the original is acked.
 *
 * Anything unacked when a channel or connection dies is redelivered by the broker; after a
 * reconnect the connection's setup starts consuming again.
 */
export class RabbitMqConsumer {
  private readonly lanes: Lane[] = [];
  private readonly inFlight = new Set<Promise<void>>();
  private sender: Promise<ConfirmedSender> | null = null;
  private unregister: (() => void) | null = null;
  private stopping = false;
  /** Cancels the waits of resubscribe loops when the consumer stops. */
  private halt = new AbortController();
  private readonly prefetch: number;
  private readonly concurrency: number;
  private readonly policy: RetryPolicy;
  private readonly clock: Clock;
  private readonly logger: Logger;

  readonly counters = { processed: 0, retried: 0, deadLettered: 0, inFlight: 0 };

  constructor(
    private readonly connection: RabbitMqConnection,
    private readonly options: RabbitMqConsumerOptions = {},
  ) {
    this.prefetch = options.prefetch ?? 20;
    this.concurrency = options.concurrency ?? 10;
    this.policy = options.retryPolicy ?? defaultRetryPolicy;
    this.clock = options.clock ?? systemClock;
    this.logger = options.logger ?? silentLogger;
  }

  /**
   * Declares each RabbitMQ subscription's topology and starts consuming, now if the connection
   * is up (a broken topology fails here) and again after every reconnect. Subscriptions on
   * other transports are left to their own consumer.
   */
  async start(subscriptions: ReadonlyArray<Subscription>): Promise<void> {
    if (this.unregister) throw new Error('RabbitMqConsumer already started');
    const mine = subscriptions.filter((s): s is RabbitMqSubscription => s.source.transport === 'rabbitmq');
    const queues = mine.map((s) => s.source.queue);
    const repeated = queues.find((queue, i) => queues.indexOf(queue) !== i);
    // Two subscriptions on one queue would take each other's messages and dead-letter them as unexpected.
    if (repeated) throw new Error(`more than one subscription consumes ${repeated}`);
    this.stopping = false;
    this.halt = new AbortController();
    for (const subscription of mine) {
      this.lanes.push({ subscription, channel: null, consumerTag: null, resubscribing: false, running: 0, waiting: [] });
    }
    try {
      this.unregister = await this.connection.onConnect((model) => this.consumeAll(model));
    } catch (error) {
      // Leave nothing half started: no lane keeps consuming, none tries to resubscribe.
      this.stopping = true;
      this.halt.abort();
      for (const lane of this.lanes.splice(0)) await lane.channel?.close().catch(() => {});
      throw error;
    }
  }

  /**
   * Stops taking work, lets running handlers finish (up to `stopTimeoutMs`), then closes the
   * channels. Messages waiting for a handler slot go back to the queue at once, for the other
   * consumers; anything still unacked at the end is redelivered by the broker.
   */
  async stop(): Promise<void> {
    if (!this.unregister) return;
    this.stopping = true;
    this.halt.abort();
    this.unregister();
    this.unregister = null;
    for (const lane of this.lanes) {
      if (lane.channel && lane.consumerTag) await lane.channel.cancel(lane.consumerTag).catch(() => {});
      for (const { channel, message } of lane.waiting.splice(0)) settle(() => channel.nack(message, false, true));
    }
    await this.waitForInFlight();
    for (const lane of this.lanes.splice(0)) await lane.channel?.close().catch(() => {});
    const sender = await this.sender?.catch(() => null);
    this.sender = null;
    await sender?.close();
  }

  private async waitForInFlight(): Promise<void> {
    const timeoutMs = this.options.stopTimeoutMs ?? 10_000;
    const timer = new AbortController();
    const finished = await Promise.race([
      Promise.allSettled([...this.inFlight]).then(() => true),
      delay(timeoutMs, false, { signal: timer.signal }).catch(() => false),
    ]);
    timer.abort();
    if (!finished) {
      const running = this.inFlight.size;
      this.logger.warn(`rabbitmq consumer: ${running} handlers still running after ${timeoutMs} ms; the broker redelivers their messages`);
    }
  }

  /** The setup run on every (re)connect: each lane gets a channel on the new connection. */
  private async consumeAll(model: ChannelModel): Promise<void> {
    this.sender = null; // the old one died with the old connection
    for (const lane of this.lanes) await this.consume(lane, await model.createChannel());
  }

  private async consume(lane: Lane, channel: Channel): Promise<void> {
    const { source } = lane.subscription;
    channel.on('error', (error: Error) => this.logger.warn(`rabbitmq consumer ${source.queue}: channel error (${error.message})`));
    channel.on('close', () => this.channelClosed(lane, channel));
    try {
      await declareSourceTopology(channel, source, this.policy);
      await channel.prefetch(this.prefetch);
      // Set before consuming: the first deliveries can arrive before `consume` resolves.
      lane.channel = channel;
      const { consumerTag } = await channel.consume(source.queue, (message) => this.accept(lane, channel, message));
      lane.consumerTag = consumerTag;
    } catch (error) {
      await channel.close().catch(() => {});
      throw error;
    }
    this.logger.log(`rabbitmq consumer ${lane.subscription.consumer}: consuming ${source.queue}`);
  }

  private accept(lane: Lane, channel: Channel, message: ConsumeMessage | null): void {
    if (message === null) {
      // The broker cancelled us (the queue was deleted): closing the channel re-declares and resubscribes.
      this.logger.warn(`rabbitmq consumer ${lane.subscription.source.queue}: cancelled by the broker`);
      void channel.close().catch(() => {});
      return;
    }
    lane.waiting.push({ channel, message });
    this.pump(lane);
  }

  /** Starts handlers for waiting deliveries while the lane has free slots. */
  private pump(lane: Lane): void {
    while (lane.running < this.concurrency && lane.waiting.length > 0 && !this.stopping) {
      const { channel, message } = lane.waiting.shift()!;
      lane.running += 1;
      this.counters.inFlight += 1;
      const work: Promise<void> = this.process(lane, channel, message)
        .catch((error) => this.logger.error(`rabbitmq consumer ${lane.subscription.source.queue}: unexpected failure`, error))
        .finally(() => {
          lane.running -= 1;
          this.counters.inFlight -= 1;
          this.inFlight.delete(work);
          this.pump(lane);
        });
      this.inFlight.add(work);
    }
  }

  private async process(lane: Lane, channel: Channel, message: ConsumeMessage): Promise<void> {
    const { subscription } = lane;
    const { consumer, source } = subscription;
    const { headers, messageId } = message.properties;
    this.options.onDelivery?.({
      consumer,
      queue: source.queue,
      messageId,
      attempts: readFailureRecord(headers).attempts ?? 0,
      redelivered: message.fields.redelivered,
    });
    const decoded = decodeInbound(message.content, subscription.messages);
    if (!decoded.ok) {
      // Poison: retrying cannot make it valid.
      await this.failed(lane, channel, message, { kind: 'dead-letter', reason: `poison: ${decoded.error}` });
      return;
    }
    let outcome: HandlerOutcome;
    try {
      outcome = await subscription.handler.handle(decoded.envelope);
    } catch (error) {
      outcome = Outcome.retry(error instanceof Error ? error.message : String(error));
    }
    if (outcome.kind === 'done') {
      settle(() => channel.ack(message), this.logger);
      this.counters.processed += 1;
    } else {
      await this.failed(lane, channel, message, outcome);
    }
  }

  private async failed(lane: Lane, channel: Channel, message: ConsumeMessage, outcome: Failed): Promise<void> {
    const { consumer, source } = lane.subscription;
    const { headers, messageId, type } = message.properties;
    const where = `rabbitmq consumer ${source.queue}`;
    if (lane.channel !== channel) {
      // The channel it came on is gone, so the broker redelivers the original: a copy now would be a second one.
      this.logger.warn(`${where}: channel lost while handling ${messageId}; the broker redelivers it`);
      return;
    }
    const failure = { queue: source.queue, consumer, headers, reason: outcome.reason, permanent: outcome.kind === 'dead-letter' };
    const plan = planFailure(failure, this.policy, this.clock.now());
    const copy = copyOptionsOf(message, plan.headers);
    try {
      const sender = await this.confirmedSender();
      await sender.send('', plan.queue, message.content, plan.kind === 'retry' ? { ...copy, expiration: String(plan.delayMs) } : copy);
    } catch (error) {
      // The copy is not safely stored, so the original must stay: back to the queue, attempts unchanged.
      this.logger.error(`${where}: could not move message ${messageId} to ${plan.queue}; requeued`, error);
      settle(() => channel.nack(message, false, true), this.logger);
      return;
    }
    // Acked only now: a crash right here leaves the copy and redelivers the original, and the inbox drops the duplicate.
    settle(() => channel.ack(message), this.logger);
    const what = `${type} ${messageId} (attempt ${plan.attempts} of ${this.policy.maxAttempts})`;
    if (plan.kind === 'retry') {
      this.counters.retried += 1;
      this.logger.warn(`${where}: ${what} failed, retrying in ${plan.delayMs} ms: ${outcome.reason}`);
    } else {
      this.counters.deadLettered += 1;
      this.logger.error(`${where}: ${what} dead-lettered to ${plan.queue}: ${plan.headers[DeadLetterHeaders.lastError]}`);
    }
  }

  /** The confirm channel for retry and dead-letter copies, reopened when it was lost. */
  private async confirmedSender(): Promise<ConfirmedSender> {
    const opening = this.sender;
    if (opening) {
      const current = await opening.catch(() => null);
      if (current?.isOpen) return current;
      if (this.sender !== opening) return this.confirmedSender();
    }
    this.sender = this.connection.createConfirmChannel().then((channel) => new ConfirmedSender(channel, this.logger));
    return this.sender;
  }

  /**
   * A channel closed. Its unacked deliveries are back in the queue, so those still waiting here
   * are dropped. If the connection is fine (the broker closed just this channel), consuming starts
   * again on a new channel; if the connection went, its reconnect setup does that.
   */
  private channelClosed(lane: Lane, channel: Channel): void {
    if (lane.channel !== channel) return;
    lane.channel = null;
    lane.consumerTag = null;
    lane.waiting.splice(0, lane.waiting.length, ...lane.waiting.filter((w) => w.channel !== channel));
    if (!this.stopping && !lane.resubscribing) void this.resubscribe(lane);
  }

  private async resubscribe(lane: Lane): Promise<void> {
    lane.resubscribing = true;
    try {
      for (let attempt = 1; ; attempt++) {
        const backoff = Math.min(30_000, 500 * 2 ** (attempt - 1));
        await delay(backoff, undefined, { signal: this.halt.signal }).catch(() => {});
        // A lost connection's own setup resubscribes every lane; only a lone closed channel is ours to reopen.
        if (this.stopping || lane.channel || !this.connection.isConnected) return;
        try {
          await this.consume(lane, await this.connection.createChannel());
          return;
        } catch (error) {
          this.logger.warn(`rabbitmq consumer ${lane.subscription.source.queue}: resubscribing failed (${String(error)})`);
        }
      }
    } finally {
      lane.resubscribing = false;
    }
  }
}

/**
 * Acks and nacks are sent on the channel the message came from. If that channel is already
 * closed, amqplib throws; the broker has requeued the message then, so there is nothing to do.
 */
function settle(operation: () => void, logger: Logger = silentLogger): void {
  try {
    operation();
  } catch (error) {
    logger.warn(`rabbitmq consumer: channel closed before settling a message (${String(error)}); the broker redelivers it`);
  }
}
