import {
  DeliveryBuffer,
  LaneRunner,
  silentLogger,
  untilStopped,
  type ConsumerSpec,
  type ConsumerState,
  type Lane,
  type Logger,
  type Settlement,
  type TransportConsumer,
} from '@boxoffice/messaging';
import { type Connection, type Delivery, type Message, type Receiver, ReceiverEvents, type Session } from 'rhea-promise';
import { describeError, type ActiveMqConnection } from './activemq.connection.js';
import { bodyOf, copyOf, headersOf, messageIdOf } from './activemq.message.js';
import type { ActiveMqPublisher } from './activemq.publisher.js';
import { dispositionFor, settleByOutcome, type FinalDisposition } from './activemq.settlement.js';
import { deadLetterQueueName } from './activemq.topology.js';

export interface ActiveMqConsumerOptions {
  /** Sends the dead-letter copies. */
  readonly publisher: ActiveMqPublisher;
  /** Creates each queue with its address settings and dead letter queue before consuming it. */
  readonly provision: (queues: ReadonlyArray<string>) => Promise<void>;
  /** How long `stop()` waits for the batches in flight; after that the broker redelivers them. */
  readonly stopTimeoutMs?: number;
  readonly logger?: Logger;
}

/** A delivery, with the receiver it came on: only that link can settle it. */
interface Received {
  readonly receiver: Receiver;
  readonly message: Message;
  readonly delivery: Delivery;
}

/** One receiver link, on a session of its own, consuming one queue; the runtime's LaneRunner takes its batches. */
interface Subscription {
  readonly queue: string;
  session: Session | null;
  receiver: Receiver | null;
  /** A receiver the broker closed is being replaced; one attempt at a time. */
  reopening: boolean;
  readonly buffer: DeliveryBuffer<Received>;
}

/**
 * Competing consumers on Artemis ANYCAST queues, in batches, on libs/messaging's LaneRunner. Each
 * lane is a receiver whose credit is two batches (rhea's automatic credit window is off: it would
 * top up on receipt, not on settlement, and let unsettled messages pile up): one batch in the
 * pipeline, the next arriving. After the pipeline's commit each delivery is settled as
 * activemq.settlement.ts says, and its credit given back. A delivery left unsettled when the link
 * or connection goes is the broker's to redeliver; after a reconnect the connection's setup opens
 * the lanes again.
 */
export class ActiveMqConsumer implements TransportConsumer {
  private readonly subscriptions: Subscription[] = [];
  private readonly runner: LaneRunner<Received>;
  private unregister: (() => void) | null = null;
  private unlisten: (() => void) | null = null;
  private phase: ConsumerState = 'new';
  private readonly logger: Logger;

  constructor(
    private readonly connection: ActiveMqConnection,
    private readonly spec: ConsumerSpec,
    private readonly options: ActiveMqConsumerOptions,
  ) {
    this.logger = options.logger ?? silentLogger;
    this.runner = new LaneRunner({
      pipeline: spec.pipeline,
      // A work queue is this consumer's alone, and competing consumers reorder it anyway.
      semantics: { ordered: false, exclusive: true },
      label: `activemq consumer ${spec.consumer}`,
      stopTimeoutMs: options.stopTimeoutMs,
      logger: this.logger,
    });
  }

  get state(): ConsumerState {
    return this.phase;
  }

  async start(): Promise<void> {
    if (this.unregister) throw new Error('ActiveMqConsumer already started');
    this.phase = 'starting';
    for (const queue of this.spec.channels) {
      for (let i = 0; i < this.spec.concurrency; i++) {
        this.subscriptions.push({
          queue,
          session: null,
          receiver: null,
          reopening: false,
          buffer: new DeliveryBuffer((a, b) => a.receiver === b.receiver),
        });
      }
    }
    this.runner.start(this.subscriptions.map((subscription) => this.laneOf(subscription)));
    // Every link died with the connection: buffered deliveries can no longer be settled, the broker has them back.
    this.unlisten = this.connection.onLost(() => this.subscriptions.forEach((subscription) => this.forget(subscription)));
    try {
      this.unregister = await this.connection.onConnect((connection) => this.consumeAll(connection));
    } catch (error) {
      await this.runner.stop();
      this.unlisten();
      for (const subscription of this.subscriptions.splice(0)) await subscription.session?.close().catch(() => {});
      this.phase = 'stopped';
      throw error;
    }
    this.phase = 'running';
  }

  /** Stops taking work, lets the batches in flight finish and settle, releases what was buffered, closes the links. */
  async stop(): Promise<void> {
    if (!this.unregister) return;
    this.phase = 'stopping';
    const stopped = this.runner.stop(); // takes no further batch from here on
    this.unregister();
    this.unregister = null;
    await stopped;
    for (const subscription of this.subscriptions)
      for (const { delivery } of subscription.buffer.take()) settle(() => delivery.release(), this.logger);
    for (const subscription of this.subscriptions.splice(0)) await subscription.session?.close().catch(() => {});
    this.unlisten?.();
    this.phase = 'stopped';
  }

  /** A subscription as the runner's lane: its buffer's batches, settled on the receiver they came on. */
  private laneOf(subscription: Subscription): Lane<Received> {
    return {
      source: subscription.queue,
      receive: (signal) => subscription.buffer.next(this.spec.batch, signal),
      inbound: ({ message }) => ({ body: bodyOf(message), headers: headersOf(message) }),
      settleable: (batch) => subscription.receiver === batch[0].receiver,
      settle: (batch, settlements) => this.settle(subscription, batch, settlements),
      release: async (batch) => {
        // Not processed: back to the queue uncounted. Once its link is gone the broker has them back
        // already, and settling on a closed connection would only leave rhea a heartbeat timer running.
        if (subscription.receiver !== batch[0].receiver) return;
        for (const { delivery } of batch) settle(() => delivery.release(), this.logger);
        this.giveBack(subscription, batch);
      },
    };
  }

  /** The setup run on every (re)connect: the queues exist with their settings, and each lane gets a receiver. */
  private async consumeAll(connection: Connection): Promise<void> {
    await this.options.provision(this.spec.channels);
    for (const subscription of this.subscriptions) await this.consume(subscription, connection);
  }

  private async consume(subscription: Subscription, connection: Connection): Promise<void> {
    const session = await connection.createSession();
    try {
      const receiver = await session.createReceiver({
        source: { address: subscription.queue, capabilities: ['queue'] },
        autoaccept: false,
        credit_window: 0,
      });
      receiver.on(ReceiverEvents.message, ({ message, delivery }) => {
        if (message && delivery && subscription.receiver === receiver) subscription.buffer.push({ receiver, message, delivery });
      });
      receiver.on(ReceiverEvents.receiverClose, () => this.receiverClosed(subscription, receiver));
      subscription.session = session;
      subscription.receiver = receiver;
      // Two batches' worth: one in the pipeline, the next arriving meanwhile.
      receiver.addCredit(this.spec.batch.maxMessages * 2);
    } catch (error) {
      await session.close().catch(() => {});
      throw error;
    }
    this.logger.log(`activemq consumer ${this.spec.consumer}: consuming ${subscription.queue}`);
  }

  /** Carries out the settlements: dead letters copied first, then one outcome per turn, then the credit given back. */
  private async settle(subscription: Subscription, batch: ReadonlyArray<Received>, settlements: ReadonlyArray<Settlement>): Promise<void> {
    if (subscription.receiver !== batch[0].receiver) {
      // The link it came on is gone, so the broker redelivers the batch; the inbox makes those duplicates.
      this.logger.warn(`activemq consumer ${subscription.queue}: receiver lost while handling a batch; the broker redelivers it`);
      return;
    }
    const dispositions = await Promise.all(batch.map((received, i) => this.dispositionOf(subscription.queue, received, settlements[i])));
    await settleByOutcome(
      batch.map(({ delivery }, i) => ({ delivery, disposition: dispositions[i] })),
      (operation) => settle(operation, this.logger),
    );
    this.giveBack(subscription, batch);
  }

  /** The outcome a delivery is settled with; a dead letter is first copied to its queue's `.dlq`. */
  private async dispositionOf(queue: string, { message }: Received, settlement: Settlement): Promise<FinalDisposition> {
    const disposition = dispositionFor(settlement);
    if (disposition !== 'dead-letter') return disposition;
    const dlq = deadLetterQueueName(queue);
    try {
      await this.options.publisher.send(dlq, [copyOf(message, settlement.kind === 'dead-letter' ? settlement.headers : {})]);
      return 'accept';
    } catch (error) {
      // Not parked: back to the queue uncounted, to be dead-lettered again on its next delivery.
      this.logger.error(`activemq consumer ${queue}: could not move ${messageIdOf(message)} to ${dlq}; released`, error);
      return 'release';
    }
  }

  /** Settled deliveries free their credit: the window stays two batches of messages held or on their way. */
  private giveBack(subscription: Subscription, batch: ReadonlyArray<Received>): void {
    const receiver = batch[0].receiver;
    if (subscription.receiver === receiver && this.runner.isRunning) settle(() => receiver.addCredit(batch.length), this.logger);
  }

  /** The broker closed a link (its queue was deleted, say): what it held goes back; a new link after a backoff. */
  private receiverClosed(subscription: Subscription, receiver: Receiver): void {
    if (subscription.receiver !== receiver) return;
    this.forget(subscription);
    if (!this.runner.isRunning || !this.connection.isConnected || subscription.reopening) return;
    this.logger.warn(`activemq consumer ${subscription.queue}: the broker closed the receiver; opening another`);
    subscription.reopening = true;
    void untilStopped(
      async () => {
        // A lost connection's own setup opens every lane again; only a lone closed link is ours to reopen.
        if (subscription.receiver || !this.connection.isConnected) return;
        await this.consume(subscription, this.connection.current());
      },
      {
        signal: this.runner.signal,
        waitFirst: true,
        onFailure: (error, wait) =>
          this.logger.warn(
            `activemq consumer ${subscription.queue}: reopening failed (${describeError(error)}); trying again in ${wait} ms`,
          ),
      },
    ).finally(() => (subscription.reopening = false));
  }

  private forget(subscription: Subscription): void {
    subscription.session = null;
    subscription.receiver = null;
    subscription.buffer.take();
  }
}

/** A settlement on a link that has gone throws; the broker has the message back then, so there is nothing to do. */
function settle(operation: () => void, logger: Logger): void {
  try {
    operation();
  } catch (error) {
    logger.warn(`activemq consumer: link closed before settling (${String(error)}); the broker redelivers it`);
  }
}
