import { setTimeout as delay } from 'node:timers/promises';
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
import { type Connection, type Delivery, type Message, type Receiver, ReceiverEvents, type Session } from 'rhea-promise';
import type { ActiveMqConnection } from './activemq.connection.js';
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

/** A work queue is this consumer's alone, and competing consumers reorder it anyway. */
const semantics: SourceSemantics = { ordered: false, exclusive: true };

interface Received {
  readonly receiver: Receiver;
  readonly message: Message;
  readonly delivery: Delivery;
}

/** One receiver link, on a session of its own, consuming one queue: a batch, settled, then the next. */
interface Lane {
  readonly queue: string;
  session: Session | null;
  receiver: Receiver | null;
  readonly buffer: Received[];
  wake: (() => void) | null;
  running: Promise<void> | null;
}

/**
 * Competing consumers on Artemis ANYCAST queues, in batches. Each lane is a receiver whose credit
 * is two batches (rhea's automatic credit window is off: it would top up on receipt, not on
 * settlement, and let unsettled messages pile up): one batch in the pipeline, the next arriving.
 * After the pipeline's commit each delivery is settled as activemq.settlement.ts says, and its
 * credit given back. A delivery left unsettled when the link or connection goes is the broker's
 * to redeliver; after a reconnect the connection's setup opens the lanes again.
 */
export class ActiveMqConsumer implements TransportConsumer {
  private readonly lanes: Lane[] = [];
  private unregister: (() => void) | null = null;
  private unlisten: (() => void) | null = null;
  private stopping = false;
  private phase: ConsumerState = 'new';
  private halt = new AbortController();
  private readonly logger: Logger;

  constructor(
    private readonly connection: ActiveMqConnection,
    private readonly spec: ConsumerSpec,
    private readonly options: ActiveMqConsumerOptions,
  ) {
    this.logger = options.logger ?? silentLogger;
  }

  get state(): ConsumerState {
    return this.phase;
  }

  async start(): Promise<void> {
    if (this.unregister) throw new Error('ActiveMqConsumer already started');
    this.phase = 'starting';
    this.stopping = false;
    this.halt = new AbortController();
    for (const queue of this.spec.channels) {
      for (let i = 0; i < this.spec.concurrency; i++) this.lanes.push({ queue, session: null, receiver: null, buffer: [], wake: null, running: null });
    }
    this.unlisten = this.connection.onLost(() => this.connectionLost());
    try {
      this.unregister = await this.connection.onConnect((connection) => this.consumeAll(connection));
    } catch (error) {
      this.stopping = true;
      this.halt.abort();
      this.unlisten();
      for (const lane of this.lanes.splice(0)) await lane.session?.close().catch(() => {});
      this.phase = 'stopped';
      throw error;
    }
    for (const lane of this.lanes) lane.running = this.run(lane);
    this.phase = 'running';
  }

  /** Stops taking work, lets the batches in flight finish and settle, releases what was buffered, closes the links. */
  async stop(): Promise<void> {
    if (!this.unregister) return;
    this.phase = 'stopping';
    this.stopping = true;
    this.halt.abort();
    this.unregister();
    this.unregister = null;
    for (const lane of this.lanes) lane.wake?.();
    await this.waitForBatches();
    for (const lane of this.lanes) for (const { delivery } of lane.buffer.splice(0)) settle(() => delivery.release(), this.logger);
    for (const lane of this.lanes.splice(0)) await lane.session?.close().catch(() => {});
    this.unlisten?.();
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
    if (!finished) this.logger.warn(`activemq consumer: batches still running after ${timeoutMs} ms; the broker redelivers their messages`);
  }

  /** The setup run on every (re)connect: the queues exist with their settings, and each lane gets a receiver. */
  private async consumeAll(connection: Connection): Promise<void> {
    await this.options.provision(this.spec.channels);
    for (const lane of this.lanes) await this.consume(lane, connection);
  }

  private async consume(lane: Lane, connection: Connection): Promise<void> {
    const session = await connection.createSession();
    try {
      const receiver = await session.createReceiver({
        source: { address: lane.queue, capabilities: ['queue'] },
        autoaccept: false,
        credit_window: 0,
      });
      receiver.on(ReceiverEvents.message, (context) => {
        if (context.message && context.delivery) this.accept(lane, { receiver, message: context.message, delivery: context.delivery });
      });
      receiver.on(ReceiverEvents.receiverClose, () => this.receiverClosed(lane, receiver));
      lane.session = session;
      lane.receiver = receiver;
      // Two batches' worth: one in the pipeline, the next arriving meanwhile.
      receiver.addCredit(this.spec.batch.maxMessages * 2);
    } catch (error) {
      await session.close().catch(() => {});
      throw error;
    }
    this.logger.log(`activemq consumer ${this.spec.consumer}: consuming ${lane.queue}`);
  }

  private accept(lane: Lane, received: Received): void {
    if (lane.receiver !== received.receiver) return;
    lane.buffer.push(received);
    lane.wake?.();
  }

  /** The broker closed a link (its queue was deleted, say): what it held goes back; a new link after a backoff. */
  private receiverClosed(lane: Lane, receiver: Receiver): void {
    if (lane.receiver !== receiver) return;
    this.forget(lane);
    if (this.stopping || !this.connection.isConnected) return;
    this.logger.warn(`activemq consumer ${lane.queue}: the broker closed the receiver; opening another`);
    void this.reopen(lane);
  }

  private async reopen(lane: Lane): Promise<void> {
    const backoff = new Backoff(reconnectBackoff);
    while (!this.stopping && !lane.receiver && this.connection.isConnected) {
      await delay(backoff.next(), undefined, { signal: this.halt.signal }).catch(() => {});
      if (this.stopping || lane.receiver || !this.connection.isConnected) return;
      try {
        await this.consume(lane, this.connection.current());
      } catch (error) {
        this.logger.warn(`activemq consumer ${lane.queue}: reopening failed (${String(error)})`);
      }
    }
  }

  /** Every link died with the connection: buffered deliveries can no longer be settled, the broker has them back. */
  private connectionLost(): void {
    for (const lane of this.lanes) this.forget(lane);
  }

  private forget(lane: Lane): void {
    lane.session = null;
    lane.receiver = null;
    lane.buffer.splice(0);
  }

  private async run(lane: Lane): Promise<void> {
    while (!this.stopping) {
      const batch = await this.nextBatch(lane);
      if (batch.length > 0) await this.handle(lane, batch);
    }
  }

  /** Waits for the first delivery, then up to `maxWaitMs` for the batch to fill; all from one receiver. */
  private async nextBatch(lane: Lane): Promise<Received[]> {
    const { maxMessages, maxWaitMs } = this.spec.batch;
    while (lane.buffer.length === 0 && !this.stopping) await this.wait(lane);
    const deadline = performance.now() + maxWaitMs;
    while (lane.buffer.length < maxMessages && !this.stopping && performance.now() < deadline) await this.wait(lane, deadline - performance.now());
    return this.stopping ? [] : lane.buffer.splice(0, maxMessages);
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
  private async handle(lane: Lane, batch: ReadonlyArray<Received>): Promise<void> {
    const receiver = batch[0].receiver;
    const inbound = batch.map(({ message }) => ({ body: bodyOf(message), headers: headersOf(message) }));
    const backoff = new Backoff(reconnectBackoff);
    let settlements: Settlement[];
    for (;;) {
      try {
        settlements = await this.spec.pipeline.process(lane.queue, inbound, semantics);
        break;
      } catch (error) {
        if (this.stopping || lane.receiver !== receiver) {
          // Not processed: back to the queue uncounted (a no-op if the link is gone, where the broker has them anyway).
          for (const { delivery } of batch) settle(() => delivery.release(), this.logger);
          this.giveBack(lane, receiver, batch.length);
          return;
        }
        const wait = backoff.next();
        this.logger.warn(`activemq consumer ${lane.queue}: a batch of ${batch.length} failed (${String(error)}); trying it again in ${wait} ms`);
        await delay(wait, undefined, { signal: this.halt.signal }).catch(() => {});
      }
    }
    if (lane.receiver !== receiver) {
      // The link it came on is gone, so the broker redelivers the batch; the inbox makes those duplicates.
      this.logger.warn(`activemq consumer ${lane.queue}: receiver lost while handling a batch; the broker redelivers it`);
      return;
    }
    const dispositions = await Promise.all(batch.map((received, i) => this.dispositionOf(lane.queue, received, settlements[i])));
    await settleByOutcome(
      batch.map(({ delivery }, i) => ({ delivery, disposition: dispositions[i] })),
      (operation) => settle(operation, this.logger),
    );
    this.giveBack(lane, receiver, batch.length);
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
  private giveBack(lane: Lane, receiver: Receiver, count: number): void {
    if (lane.receiver === receiver && !this.stopping) settle(() => receiver.addCredit(count), this.logger);
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
