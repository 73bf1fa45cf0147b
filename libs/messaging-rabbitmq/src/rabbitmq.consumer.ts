import type { Channel, ChannelModel, ConsumeMessage } from 'amqplib';
import { setTimeout as delay } from 'node:timers/promises';
import {
  Backoff,
  reconnectBackoff,
  silentLogger,
  type ConsumerSpec,
  type ConsumerState,
  type Logger,
  type RetryPolicy,
  type Settlement,
  type SourceSemantics,
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

/** A work queue is this consumer's alone, and competing consumers reorder it anyway. */
const semantics: SourceSemantics = { ordered: false, exclusive: true };

/** One channel consuming one queue: it gathers a batch, has it processed, settles it, and takes the next. */
interface Lane {
  readonly queue: string;
  channel: Channel | null;
  consumerTag: string | null;
  /** A lone closed channel is being replaced; one attempt loop at a time. */
  resubscribing: boolean;
  readonly buffer: Array<{ readonly channel: Channel; readonly message: ConsumeMessage }>;
  /** Wakes the lane's loop when a delivery arrives or the consumer stops. */
  wake: (() => void) | null;
  running: Promise<void> | null;
}

/**
 * Competing consumers on RabbitMQ work queues, in batches. Each lane is a channel whose prefetch
 * window holds two batches: while one batch is in the pipeline (one database transaction), the
 * next is already on its way. After the commit the lane carries out the pipeline's settlements:
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
  private readonly lanes: Lane[] = [];
  private sender: Promise<ConfirmedSender> | null = null;
  private unregister: (() => void) | null = null;
  private stopping = false;
  private phase: ConsumerState = 'new';
  /** Cancels the waits of resubscribe loops and batch lingers when the consumer stops. */
  private halt = new AbortController();
  private readonly logger: Logger;

  constructor(
    private readonly connection: RabbitMqConnection,
    private readonly spec: ConsumerSpec,
    private readonly options: RabbitMqConsumerOptions,
  ) {
    this.logger = options.logger ?? silentLogger;
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
    this.stopping = false;
    this.halt = new AbortController();
    for (const queue of this.spec.channels) {
      for (let i = 0; i < this.spec.concurrency; i++) {
        this.lanes.push({ queue, channel: null, consumerTag: null, resubscribing: false, buffer: [], wake: null, running: null });
      }
    }
    try {
      this.unregister = await this.connection.onConnect((model) => this.consumeAll(model));
    } catch (error) {
      // Leave nothing half started: no lane keeps consuming, none tries to resubscribe.
      this.stopping = true;
      this.halt.abort();
      for (const lane of this.lanes.splice(0)) await lane.channel?.close().catch(() => {});
      this.phase = 'stopped';
      throw error;
    }
    for (const lane of this.lanes) lane.running = this.run(lane);
    this.phase = 'running';
  }

  /**
   * Stops taking work, lets the batches in flight finish and settle (up to `stopTimeoutMs`), then
   * closes the channels. Deliveries buffered for a next batch go back to the queue at once.
   */
  async stop(): Promise<void> {
    if (!this.unregister) return;
    this.phase = 'stopping';
    this.stopping = true;
    this.halt.abort();
    this.unregister();
    this.unregister = null;
    for (const lane of this.lanes) {
      if (lane.channel && lane.consumerTag) await lane.channel.cancel(lane.consumerTag).catch(() => {});
      lane.wake?.();
    }
    await this.waitForBatches();
    for (const lane of this.lanes) {
      for (const { channel, message } of lane.buffer.splice(0)) settle(() => channel.nack(message, false, true), this.logger);
    }
    for (const lane of this.lanes.splice(0)) await lane.channel?.close().catch(() => {});
    const sender = await this.sender?.catch(() => null);
    this.sender = null;
    await sender?.close();
    this.phase = 'stopped';
  }

  private async waitForBatches(): Promise<void> {
    const timeoutMs = this.options.stopTimeoutMs ?? 10_000;
    const timer = new AbortController();
    const finished = await Promise.race([
      Promise.allSettled(this.lanes.map((lane) => lane.running)).then(() => true),
      delay(timeoutMs, false, { signal: timer.signal }).catch(() => false),
    ]);
    timer.abort();
    if (!finished) this.logger.warn(`rabbitmq consumer: batches still running after ${timeoutMs} ms; the broker redelivers their messages`);
  }

  /** The setup run on every (re)connect: each lane gets a channel on the new connection. */
  private async consumeAll(model: ChannelModel): Promise<void> {
    this.sender = null; // the old one died with the old connection
    for (const lane of this.lanes) await this.consume(lane, await model.createChannel());
  }

  private async consume(lane: Lane, channel: Channel): Promise<void> {
    channel.on('error', (error: Error) => this.logger.warn(`rabbitmq consumer ${lane.queue}: channel error (${error.message})`));
    channel.on('close', () => this.channelClosed(lane, channel));
    try {
      await declareQueueTopology(channel, lane.queue, this.options.exchange, this.options.retryPolicy);
      // Two batches' worth: one in the pipeline, the next arriving meanwhile.
      await channel.prefetch(this.spec.batch.maxMessages * 2);
      // Set before consuming: the first deliveries can arrive before `consume` resolves.
      lane.channel = channel;
      const { consumerTag } = await channel.consume(lane.queue, (message) => this.accept(lane, channel, message));
      lane.consumerTag = consumerTag;
    } catch (error) {
      await channel.close().catch(() => {});
      throw error;
    }
    this.logger.log(`rabbitmq consumer ${this.spec.consumer}: consuming ${lane.queue}`);
  }

  private accept(lane: Lane, channel: Channel, message: ConsumeMessage | null): void {
    if (message === null) {
      // The broker cancelled us (the queue was deleted): closing the channel re-declares and resubscribes.
      this.logger.warn(`rabbitmq consumer ${lane.queue}: cancelled by the broker`);
      void channel.close().catch(() => {});
      return;
    }
    lane.buffer.push({ channel, message });
    lane.wake?.();
  }

  /** The lane's loop: a batch, then the next, until the consumer stops. */
  private async run(lane: Lane): Promise<void> {
    while (!this.stopping) {
      const batch = await this.nextBatch(lane);
      if (batch.length > 0) await this.handle(lane, batch);
    }
  }

  /**
   * Waits for the first delivery, then up to `maxWaitMs` for the batch to fill: a batch closes at
   * its size or its wait, whichever comes first, which bounds the latency batching adds. All its
   * deliveries come from one channel (a lane's channel changes only when it is replaced).
   */
  private async nextBatch(lane: Lane): Promise<Array<{ channel: Channel; message: ConsumeMessage }>> {
    const { maxMessages, maxWaitMs } = this.spec.batch;
    while (lane.buffer.length === 0 && !this.stopping) await this.wait(lane);
    const deadline = performance.now() + maxWaitMs;
    while (lane.buffer.length < maxMessages && !this.stopping && performance.now() < deadline) {
      await this.wait(lane, deadline - performance.now());
    }
    const channel = lane.buffer[0]?.channel;
    const sameChannel = lane.buffer.findIndex((d) => d.channel !== channel);
    const size = Math.min(maxMessages, sameChannel < 0 ? lane.buffer.length : sameChannel);
    return this.stopping ? [] : lane.buffer.splice(0, size);
  }

  private wait(lane: Lane, timeoutMs?: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        lane.wake = null;
        resolve();
      };
      const timer = timeoutMs === undefined ? undefined : setTimeout(done, Math.max(0, timeoutMs));
      lane.wake = done;
    });
  }

  /** Processes a batch (again after a backoff while the database is away) and settles it. */
  private async handle(lane: Lane, batch: ReadonlyArray<{ channel: Channel; message: ConsumeMessage }>): Promise<void> {
    const channel = batch[0].channel;
    const inbound = batch.map(({ message }) => ({ body: message.content, headers: headersOf(message) }));
    const backoff = new Backoff(reconnectBackoff);
    let settlements: Settlement[];
    for (;;) {
      try {
        settlements = await this.spec.pipeline.process(lane.queue, inbound, semantics);
        break;
      } catch (error) {
        if (this.stopping || lane.channel !== channel) {
          // Not settled: the broker gives them to someone else (or to us again) once the channel goes.
          for (const { message } of batch) settle(() => channel.nack(message, false, true), this.logger);
          return;
        }
        const wait = backoff.next();
        this.logger.warn(`rabbitmq consumer ${lane.queue}: a batch of ${batch.length} failed (${String(error)}); trying it again in ${wait} ms`);
        await delay(wait, undefined, { signal: this.halt.signal }).catch(() => {});
      }
    }
    if (lane.channel !== channel) {
      // The channel it came on is gone, so the broker redelivers the batch; the inbox makes those duplicates.
      this.logger.warn(`rabbitmq consumer ${lane.queue}: channel lost while handling a batch; the broker redelivers it`);
      return;
    }
    const unmoved = new Set<number>();
    for (let i = 0; i < batch.length; i++) {
      const settlement = settlements[i];
      if ((settlement.kind === 'retry' || settlement.kind === 'dead-letter') && !(await this.moveCopy(lane.queue, batch[i].message, settlement))) {
        unmoved.add(i);
      }
    }
    if (unmoved.size === 0) {
      settle(() => channel.ack(batch[batch.length - 1].message, true), this.logger);
      return;
    }
    // A copy that RabbitMQ did not confirm: its original goes back to the queue, attempts unchanged.
    batch.forEach(({ message }, i) => settle(() => (unmoved.has(i) ? channel.nack(message, false, true) : channel.ack(message)), this.logger));
  }

  /** Publishes the retry or dead-letter copy and waits for RabbitMQ's confirm; false if it did not come. */
  private async moveCopy(queue: string, message: ConsumeMessage, settlement: Extract<Settlement, { kind: 'retry' | 'dead-letter' }>): Promise<boolean> {
    const copy = copyOptionsOf(message, settlement.headers);
    const target =
      settlement.kind === 'retry' ? retryQueueName(queue, retryLevelFor(this.options.retryPolicy, settlement.attempts).level) : deadLetterQueueName(queue);
    try {
      const sender = await this.confirmedSender();
      await sender.send('', target, message.content, settlement.kind === 'retry' ? { ...copy, expiration: String(settlement.delayMs) } : copy);
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
   * again on a new channel; if the connection went, its reconnect setup does that.
   */
  private channelClosed(lane: Lane, channel: Channel): void {
    if (lane.channel !== channel) return;
    lane.channel = null;
    lane.consumerTag = null;
    lane.buffer.splice(0, lane.buffer.length, ...lane.buffer.filter((d) => d.channel !== channel));
    if (!this.stopping && !lane.resubscribing) void this.resubscribe(lane);
  }

  private async resubscribe(lane: Lane): Promise<void> {
    lane.resubscribing = true;
    const backoff = new Backoff(reconnectBackoff);
    try {
      for (;;) {
        await delay(backoff.next(), undefined, { signal: this.halt.signal }).catch(() => {});
        // A lost connection's own setup resubscribes every lane; only a lone closed channel is ours to reopen.
        if (this.stopping || lane.channel || !this.connection.isConnected) return;
        try {
          await this.consume(lane, await this.connection.createChannel());
          return;
        } catch (error) {
          this.logger.warn(`rabbitmq consumer ${lane.queue}: resubscribing failed (${String(error)})`);
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
function settle(operation: () => void, logger: Logger): void {
  try {
    operation();
  } catch (error) {
    logger.warn(`rabbitmq consumer: channel closed before settling a message (${String(error)}); the broker redelivers it`);
  }
}
