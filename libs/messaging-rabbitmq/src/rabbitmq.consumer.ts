import type { Channel, ChannelModel, ConsumeMessage } from 'amqplib';
import {
  DeliveryBuffer,
  describeError,
  LaneRunner,
  silentLogger,
  untilStopped,
  type ConsumerSpec,
  type ConsumerState,
  type Lane,
  type Logger,
  type RetryPolicy,
  type Settlement,
  type TransportConsumer,
} from '@boxoffice/messaging';
import type { RabbitMqConnection } from './rabbitmq.connection.js';
import { ConfirmedSender } from './rabbitmq.confirmed-sender.js';
import { copyOptionsOf, headersOf } from './rabbitmq.message.js';
import { deadLetterQueueName, declareQueueTopology, retryLevelFor, retryQueueName } from './rabbitmq.topology.js';

export interface RabbitMqConsumerOptions {
  readonly exchange: string;
  readonly retryPolicy: RetryPolicy;
  /** How long `stop()` waits for the batches in flight; after that their messages are left to redelivery. */
  readonly stopTimeoutMs?: number;
  readonly logger?: Logger;
}

/** A delivery, with the channel it came on: only that channel can ack it. */
interface Delivery {
  readonly channel: Channel;
  readonly message: ConsumeMessage;
}

/** One channel consuming one queue; the runtime's LaneRunner takes its batches. */
interface Subscription {
  readonly queue: string;
  channel: Channel | null;
  consumerTag: string | null;
  /** A lone closed channel is being replaced; one attempt at a time. */
  resubscribing: boolean;
  /** Batches never mix channels: a closed channel's deliveries can no longer be acked. */
  readonly buffer: DeliveryBuffer<Delivery>;
}

/**
 * Competing consumers on RabbitMQ work queues, in batches, on libs/messaging's LaneRunner. Each
 * lane is a channel whose prefetch window holds two batches: while one batch is in the pipeline
 * (one database transaction), the next is already on its way. After the commit the lane carries
 * out the pipeline's settlements:
 *
 * - retry: a copy, with its failure headers, goes to the delay queue of its backoff level with a
 *   per-message expiration; dead-letter: a copy goes to `<queue>.dlq`. Each copy is confirmed by
 *   RabbitMQ before the original is acked, so a crash in between leaves a copy and a redelivery,
 *   and the inbox drops the second.
 * - then one `ack(last, multiple)` settles the whole batch: every earlier delivery on the channel
 *   belongs to this batch or an earlier one, already settled.
 *
 * Anything unacked when a channel or connection dies is redelivered by the broker; after a
 * reconnect the connection's setup starts consuming again.
 */
export class RabbitMqConsumer implements TransportConsumer {
  private readonly subscriptions: Subscription[] = [];
  private readonly runner: LaneRunner<Delivery>;
  private sender: Promise<ConfirmedSender> | null = null;
  private unregister: (() => void) | null = null;
  private phase: ConsumerState = 'new';
  private readonly logger: Logger;

  constructor(
    private readonly connection: RabbitMqConnection,
    private readonly spec: ConsumerSpec,
    private readonly options: RabbitMqConsumerOptions,
  ) {
    this.logger = options.logger ?? silentLogger;
    this.runner = new LaneRunner({
      pipeline: spec.pipeline,
      // A work queue is this consumer's alone, and competing consumers reorder it anyway.
      semantics: { ordered: false, exclusive: true },
      label: `rabbitmq consumer ${spec.consumer}`,
      stopTimeoutMs: options.stopTimeoutMs,
      logger: this.logger,
    });
  }

  get state(): ConsumerState {
    return this.phase;
  }

  /**
   * Declares each queue's topology and starts consuming, now if the connection is up (a broken
   * topology fails here) and again after every reconnect.
   */
  async start(): Promise<void> {
    if (this.unregister) throw new Error('RabbitMqConsumer already started');
    this.phase = 'starting';
    for (const queue of this.spec.channels) {
      for (let i = 0; i < this.spec.concurrency; i++) {
        this.subscriptions.push({
          queue,
          channel: null,
          consumerTag: null,
          resubscribing: false,
          buffer: new DeliveryBuffer((a, b) => a.channel === b.channel),
        });
      }
    }
    this.runner.start(this.subscriptions.map((subscription) => this.laneOf(subscription)));
    try {
      this.unregister = await this.connection.onConnect((model) => this.consumeAll(model));
    } catch (error) {
      // Leave nothing half started: no lane keeps consuming, none tries to resubscribe.
      await this.runner.stop();
      for (const subscription of this.subscriptions.splice(0)) await subscription.channel?.close().catch(() => {});
      this.phase = 'stopped';
      throw error;
    }
    this.phase = 'running';
  }

  /**
   * Stops taking work, lets the batches in flight finish and settle (up to `stopTimeoutMs`), then
   * closes the channels. Deliveries buffered for a next batch go back to the queue at once.
   */
  async stop(): Promise<void> {
    if (!this.unregister) return;
    this.phase = 'stopping';
    const stopped = this.runner.stop(); // takes no further batch from here on
    this.unregister();
    this.unregister = null;
    for (const { channel, consumerTag } of this.subscriptions) {
      if (channel && consumerTag) await channel.cancel(consumerTag).catch(() => {});
    }
    await stopped;
    for (const subscription of this.subscriptions) {
      for (const { channel, message } of subscription.buffer.take()) settle(() => channel.nack(message, false, true), this.logger);
    }
    for (const subscription of this.subscriptions.splice(0)) await subscription.channel?.close().catch(() => {});
    const sender = await this.sender?.catch(() => null);
    this.sender = null;
    await sender?.close();
    this.phase = 'stopped';
  }

  /** A subscription as the runner's lane: its buffer's batches, acked on the channel they came on. */
  private laneOf(subscription: Subscription): Lane<Delivery> {
    return {
      source: subscription.queue,
      receive: (signal) => subscription.buffer.next(this.spec.batch, signal),
      inbound: ({ message }) => ({ body: message.content, headers: headersOf(message) }),
      settleable: (batch) => subscription.channel === batch[0].channel,
      settle: (batch, settlements) => this.settle(subscription, batch, settlements),
      release: async (batch) => {
        // Not settled: back to the queue, for someone else or for us again. Once its channel is gone the broker has them back already.
        if (subscription.channel !== batch[0].channel) return;
        for (const { channel, message } of batch) settle(() => channel.nack(message, false, true), this.logger);
      },
    };
  }

  /** The setup run on every (re)connect: each lane gets a channel on the new connection. */
  private async consumeAll(model: ChannelModel): Promise<void> {
    this.sender = null; // the old one died with the old connection
    for (const subscription of this.subscriptions) await this.consume(subscription, await model.createChannel());
  }

  private async consume(subscription: Subscription, channel: Channel): Promise<void> {
    const { queue } = subscription;
    channel.on('error', (error: Error) => this.logger.warn(`rabbitmq consumer ${queue}: channel error (${error.message})`));
    channel.on('close', () => this.channelClosed(subscription, channel));
    try {
      await declareQueueTopology(channel, queue, this.options.exchange, this.options.retryPolicy);
      // Two batches' worth: one in the pipeline, the next arriving meanwhile.
      await channel.prefetch(this.spec.batch.maxMessages * 2);
      // Set before consuming: the first deliveries can arrive before `consume` resolves.
      subscription.channel = channel;
      const { consumerTag } = await channel.consume(queue, (message) => this.accept(subscription, channel, message));
      subscription.consumerTag = consumerTag;
    } catch (error) {
      await channel.close().catch(() => {});
      throw error;
    }
    this.logger.log(`rabbitmq consumer ${this.spec.consumer}: consuming ${queue}`);
  }

  private accept(subscription: Subscription, channel: Channel, message: ConsumeMessage | null): void {
    if (message === null) {
      // The broker cancelled us (the queue was deleted): closing the channel re-declares and resubscribes.
      this.logger.warn(`rabbitmq consumer ${subscription.queue}: cancelled by the broker`);
      void channel.close().catch(() => {});
      return;
    }
    subscription.buffer.push({ channel, message });
  }

  /** Carries out the settlements on the batch's channel: copies confirmed first, then the acks. */
  private async settle(subscription: Subscription, batch: ReadonlyArray<Delivery>, settlements: ReadonlyArray<Settlement>): Promise<void> {
    const channel = batch[0].channel;
    if (subscription.channel !== channel) {
      // The channel it came on is gone, so the broker redelivers the batch; the inbox makes those duplicates.
      this.logger.warn(`rabbitmq consumer ${subscription.queue}: channel lost while handling a batch; the broker redelivers it`);
      return;
    }
    const unmoved = new Set<number>();
    for (let i = 0; i < batch.length; i++) {
      const settlement = settlements[i];
      if (
        (settlement.kind === 'retry' || settlement.kind === 'dead-letter') &&
        !(await this.moveCopy(subscription.queue, batch[i].message, settlement))
      ) {
        unmoved.add(i);
      }
    }
    if (unmoved.size === 0) {
      settle(() => channel.ack(batch[batch.length - 1].message, true), this.logger);
      return;
    }
    // A copy that RabbitMQ did not confirm: its original goes back to the queue, attempts unchanged.
    batch.forEach(({ message }, i) =>
      settle(() => (unmoved.has(i) ? channel.nack(message, false, true) : channel.ack(message)), this.logger),
    );
  }

  /** Publishes the retry or dead-letter copy and waits for RabbitMQ's confirm; false if it did not come. */
  private async moveCopy(
    queue: string,
    message: ConsumeMessage,
    settlement: Extract<Settlement, { kind: 'retry' | 'dead-letter' }>,
  ): Promise<boolean> {
    const copy = copyOptionsOf(message, settlement.headers);
    const target =
      settlement.kind === 'retry'
        ? retryQueueName(queue, retryLevelFor(this.options.retryPolicy, settlement.attempts).level)
        : deadLetterQueueName(queue);
    try {
      const sender = await this.confirmedSender();
      await sender.send(
        '',
        target,
        message.content,
        settlement.kind === 'retry' ? { ...copy, expiration: String(settlement.delayMs) } : copy,
      );
      return true;
    } catch (error) {
      this.logger.error(`rabbitmq consumer ${queue}: could not move message ${message.properties.messageId} to ${target}; requeued`, error);
      return false;
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
   * A channel closed. Its unacked deliveries are back in the queue, so those still buffered here
   * are dropped. If the connection is fine (the broker closed just this channel), consuming starts
   * again on a new channel after a backoff; if the connection went, its reconnect setup does that.
   */
  private channelClosed(subscription: Subscription, channel: Channel): void {
    if (subscription.channel !== channel) return;
    subscription.channel = null;
    subscription.consumerTag = null;
    subscription.buffer.take((delivery) => delivery.channel === channel);
    if (!this.runner.isRunning || subscription.resubscribing) return;
    subscription.resubscribing = true;
    void untilStopped(
      async () => {
        // A lost connection's own setup resubscribes every lane; only a lone closed channel is ours to reopen.
        if (subscription.channel || !this.connection.isConnected) return;
        await this.consume(subscription, await this.connection.createChannel());
      },
      {
        signal: this.runner.signal,
        waitFirst: true,
        onFailure: (error, wait) =>
          this.logger.warn(
            `rabbitmq consumer ${subscription.queue}: resubscribing failed (${describeError(error)}); trying again in ${wait} ms`,
          ),
      },
    ).finally(() => (subscription.resubscribing = false));
  }
}

/**
 * Acks and nacks are sent on the channel the message came from. If that channel is already
 * closed, amqplib throws; the broker has requeued the message then, so there is nothing to do.
 */
function settle(operation: () => void, logger: Logger): void {
  try {
    operation();
  } catch (error) {
    logger.warn(`rabbitmq consumer: channel closed before settling a message (${String(error)}); the broker redelivers it`);
  }
}
