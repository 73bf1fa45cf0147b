import type { Channel, ChannelModel, ConsumeMessage, Replies } from 'amqplib';
import {
  SubscriptionConsumer,
  type ConsumerSpec,
  type InboundMessage,
  type Logger,
  type RetryPolicy,
  type Settlement,
  type Subscription,
} from '@boxoffice/messaging';
import type { RabbitMqConnection } from './rabbitmq.connection.js';
import { ConfirmedSender } from './rabbitmq.confirmed-sender.js';
import { copyOptionsOf, headersOf } from './rabbitmq.message.js';
import { Probation } from './rabbitmq.probation.js';
import { deadLetterQueueName, declareQueueTopology, retryLevelFor, retryQueueName } from './rabbitmq.topology.js';

export interface RabbitMqConsumerOptions {
  readonly exchange: string;
  readonly retryPolicy: RetryPolicy;
  /** The work queues' `x-delivery-limit` (rabbitmq.topology.ts). */
  readonly deliveryLimit?: number;
  /** How long `stop()` waits for the batches in flight; after that their messages are left to redelivery. */
  readonly stopTimeoutMs?: number;
  readonly logger?: Logger;
}

/**
 * Competing consumers on RabbitMQ work queues, in batches, as the runtime's SubscriptionConsumer
 * (its lanes, the reconnects, stop). Each lane is a channel whose prefetch window holds two
 * batches: while one batch is in the pipeline (one database transaction), the next is already
 * on its way. After the commit the lane carries out the pipeline's settlements:
 *
 * - retry: a copy, with its failure headers, goes to the delay queue of its backoff level with a
 *   per-message expiration; dead-letter: a copy goes to `<queue>.dlq`. Each copy is confirmed by
 *   RabbitMQ before the original is acked, so a crash in between leaves a copy and a redelivery,
 *   and the inbox drops the second.
 * - then one `ack(last, multiple)` settles the whole batch: every earlier delivery on the channel
 *   belongs to this batch or an earlier one, already settled.
 *
 * Anything unacked when a channel or connection dies is redelivered by the broker, ahead of the
 * rest and counted toward the queue's delivery limit; after a reconnect the connection's setup
 * declares each queue's topology and consumes again, those returns first, one at a time
 * (rabbitmq.probation.ts), so a message that kills its consumer is parked alone. On stop
 * the consumers are cancelled at once, the batches in flight settle, and what was prefetched for
 * a next batch is nacked back to the queue.
 */
export class RabbitMqConsumer extends SubscriptionConsumer<ChannelModel, Channel, ConsumeMessage> {
  private sender: Promise<ConfirmedSender> | null = null;
  /** Each lane's consumer tag on its channel, for the cancel on stop. */
  private readonly consumerTags = new WeakMap<Channel, string>();
  /** Each queue's probation on the current connection. */
  private probations = new Map<string, Probation>();

  constructor(
    connection: RabbitMqConnection,
    spec: ConsumerSpec,
    private readonly options: RabbitMqConsumerOptions,
  ) {
    super('rabbitmq', connection, spec, options);
  }

  /**
   * On a new connection: the old confirm channel died with the old one, and what the old
   * connection held is back in the queues, so each queue starts on probation.
   */
  protected override async prepare(): Promise<void> {
    this.sender = null;
    this.probations = new Map();
  }

  /**
   * A channel of its own, the queue's topology declared on it, then consuming: the lane that leads
   * the queue's probation one message at a time, the others once it is over, with a full window.
   */
  protected async subscribe(subscription: Subscription<Channel, ConsumeMessage>, model: ChannelModel): Promise<void> {
    const { queue } = subscription;
    const channel = await model.createChannel();
    channel.on('error', (error: Error) => this.logger.warn(`rabbitmq consumer ${queue}: channel error (${error.message})`));
    channel.on('close', () => subscription.closed(channel));
    try {
      const { exchange, retryPolicy, deliveryLimit } = this.options;
      await declareQueueTopology(channel, queue, exchange, retryPolicy, { deliveryLimit });
      // Set before consuming: the first deliveries can arrive before `consume` resolves.
      subscription.link = channel;
      const probation = this.probationOf(queue);
      if (probation.isOver) await this.consume(channel, subscription, this.window);
      else if (probation.leads(subscription)) await this.consume(channel, subscription, 1, probation);
      else void probation.over.then(() => this.consumeIfFeeding(channel, subscription));
    } catch (error) {
      await channel.close().catch(() => {});
      throw error;
    }
  }

  /** Two batches' worth: one in the pipeline, the next arriving meanwhile. */
  private get window(): number {
    return this.spec.batch.maxMessages * 2;
  }

  private probationOf(queue: string): Probation {
    let probation = this.probations.get(queue);
    if (!probation) this.probations.set(queue, (probation = new Probation()));
    return probation;
  }

  /**
   * Consumes with a window of `prefetch` unacked messages (a prefetch applies to the consumers a
   * channel makes after it). On probation, the first message the queue never handed out before
   * ends it, and the lane takes its full window.
   */
  private async consume(
    channel: Channel,
    subscription: Subscription<Channel, ConsumeMessage>,
    prefetch: number,
    probation?: Probation,
  ): Promise<void> {
    const { queue } = subscription;
    await channel.prefetch(prefetch);
    const consuming: Promise<Replies.Consume> = channel.consume(queue, (message) => {
      if (!message) {
        // The broker cancelled us (the queue was deleted): closing the channel re-declares and resubscribes.
        this.logger.warn(`rabbitmq consumer ${queue}: cancelled by the broker`);
        void channel.close().catch(() => {});
        return;
      }
      subscription.deliver(channel, message);
      if (probation && !probation.isOver && !message.fields.redelivered) {
        probation.end();
        void this.widen(channel, subscription, consuming);
      }
    });
    this.consumerTags.set(channel, (await consuming).consumerTag);
  }

  /** The probation is over: the lane's one-message consumer makes way for one with the full window, on the same channel. */
  private async widen(channel: Channel, subscription: Subscription<Channel, ConsumeMessage>, consuming: Promise<Replies.Consume>) {
    try {
      await channel.cancel((await consuming).consumerTag);
      await this.consumeIfFeeding(channel, subscription);
    } catch (error) {
      this.logger.warn(`rabbitmq consumer ${subscription.queue}: could not widen the window (${(error as Error).message}); reopening`);
      void channel.close().catch(() => {});
    }
  }

  /** With the full window, unless the lane stopped or its channel closed meanwhile. */
  private async consumeIfFeeding(channel: Channel, subscription: Subscription<Channel, ConsumeMessage>): Promise<void> {
    if (!this.feeding(channel)) return;
    await this.consume(channel, subscription, this.window).catch((error: Error) => {
      this.logger.warn(`rabbitmq consumer ${subscription.queue}: could not consume (${error.message}); reopening`);
      void channel.close().catch(() => {});
    });
  }

  protected inbound(message: ConsumeMessage): InboundMessage {
    return { body: message.content, headers: headersOf(message) };
  }

  /** Copies confirmed first, then the acks. */
  protected async settle(
    channel: Channel,
    queue: string,
    batch: ReadonlyArray<ConsumeMessage>,
    settlements: ReadonlyArray<Settlement>,
  ): Promise<void> {
    const unmoved = new Set<number>();
    for (let i = 0; i < batch.length; i++) {
      const settlement = settlements[i];
      if ((settlement.kind === 'retry' || settlement.kind === 'dead-letter') && !(await this.moveCopy(queue, batch[i], settlement))) {
        unmoved.add(i);
      }
    }
    if (unmoved.size === 0) {
      this.onLink(() => channel.ack(batch[batch.length - 1], true));
      return;
    }
    // A copy that RabbitMQ did not confirm: its original goes back to the queue, attempts unchanged.
    batch.forEach((message, i) => this.onLink(() => (unmoved.has(i) ? channel.nack(message, false, true) : channel.ack(message))));
  }

  /** Back to the queue, for someone else or for us again. */
  protected release(channel: Channel, messages: ReadonlyArray<ConsumeMessage>): void {
    for (const message of messages) this.onLink(() => channel.nack(message, false, true));
  }

  /** On stop, before the batches in flight finish: nothing more is prefetched meanwhile. */
  protected override async unsubscribe(channel: Channel): Promise<void> {
    const consumerTag = this.consumerTags.get(channel);
    if (consumerTag) await channel.cancel(consumerTag);
  }

  protected async closeLink(channel: Channel): Promise<void> {
    await channel.close();
  }

  /** The confirm channel is closed after the lanes' channels. */
  protected override async detach(settled: Promise<unknown>): Promise<void> {
    await super.detach(settled);
    const sender = await this.sender?.catch(() => null);
    this.sender = null;
    await sender?.close();
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
    this.sender = this.connection
      .current()
      .createConfirmChannel()
      .then((channel) => new ConfirmedSender(channel, this.logger));
    return this.sender;
  }
}
