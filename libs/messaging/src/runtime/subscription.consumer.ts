import type { Logger } from '../logger.js';
import type { ConsumerSpec, InboundMessage, Settlement } from '../transport.port.js';
import { DeliveryBuffer } from './delivery.buffer.js';
import type { HealingConnection } from './healing.connection.js';
import { LaneConsumer } from './lane.consumer.js';
import type { Lane } from './lane.runner.js';
import { untilStopped } from './stoppable.js';

/** A lane's subscription to its queue, as the adapter opens it: the link (a channel, a receiver) the broker pushes down. */
export interface Subscription<L, D> {
  readonly queue: string;
  /** The link delivering now: set it before the first delivery can arrive. Null while there is none. */
  link: L | null;
  /** Takes what came down `link`, for the lane's next batch; what a link that is no longer the subscription's delivers is dropped. */
  readonly deliver: (link: L, delivery: D) => void;
  /** To be called when `link` closes, whoever closed it. */
  readonly closed: (link: L) => void;
}

export interface SubscriptionConsumerOptions {
  /** How long `stop()` waits for the batches in flight; after that the broker delivers them again. */
  readonly stopTimeoutMs?: number;
  readonly logger?: Logger;
}

/** A delivery with the link it came on: only that link can settle it. */
export interface Pushed<L, D> {
  readonly link: L;
  readonly delivery: D;
}

/** A subscription as its lane reads it. */
interface Feed<L, D> extends Subscription<L, D> {
  /** What its link delivered; a batch never mixes links. */
  readonly buffer: DeliveryBuffer<Pushed<L, D>>;
  /** A link that closed alone is being replaced; one attempt at a time. */
  reopening: boolean;
}

/**
 * Competing consumers on the work queues of a broker that pushes deliveries (a prefetch window,
 * link credit), as a LaneConsumer: each lane is a subscription, a link that a connection setup
 * opens (so again after every reconnect) and whose deliveries wait in a DeliveryBuffer for the
 * lane's next batch. Only the link a delivery came on can settle it, and a link dies with its
 * connection, the broker taking back what it held: so a batch is settled on its own link or not
 * at all, and what a dead link buffered is forgotten. A link that closes alone (its queue
 * deleted, a channel error) is reopened after a backoff. The adapter says, in its broker's
 * terms, how to `subscribe` a lane, read a delivery (`inbound`), `settle` and `release` a
 * batch, and close a link.
 */
export abstract class SubscriptionConsumer<C, L, D> extends LaneConsumer<Pushed<L, D>> {
  private readonly feeds: Array<Feed<L, D>> = [];
  private unregister: (() => void) | null = null;
  private unlisten: (() => void) | null = null;

  /** `broker` names it in log lines: `rabbitmq consumer billing`. */
  constructor(
    broker: string,
    protected readonly connection: HealingConnection<C>,
    spec: ConsumerSpec,
    options: SubscriptionConsumerOptions,
  ) {
    // A work queue is this consumer's alone, and competing consumers reorder it anyway.
    super(broker, spec, { ...options, semantics: { ordered: false, exclusive: true } });
  }

  /**
   * Opens the subscription's link on `connection` and starts its deliveries (`deliver`, `closed`);
   * if that fails, closes what it opened and throws.
   */
  protected abstract subscribe(subscription: Subscription<L, D>, connection: C): Promise<void>;

  /** A delivery as the pipeline reads it. */
  protected abstract inbound(delivery: D): InboundMessage;

  /** Carries out the pipeline's settlements, after its commit, on the link the batch came on. */
  protected abstract settle(link: L, queue: string, batch: ReadonlyArray<D>, settlements: ReadonlyArray<Settlement>): Promise<void>;

  /** Hands deliveries back to the queue on the link they came on, unsettled (stopping, or the batch was given up). */
  protected abstract release(link: L, deliveries: ReadonlyArray<D>): void;

  /** Closes a link, and what was opened for it alone; the broker delivers again what it held. */
  protected abstract closeLink(link: L): Promise<void>;

  /** Run on every (re)connect before the links open: what they need on a new connection. */
  protected prepare?(connection: C): Promise<void>;

  /** Stops a link's deliveries while the batches in flight finish, ahead of its close. */
  protected unsubscribe?(link: L): Promise<void>;

  /** A subscription per lane: `concurrency` per queue. */
  protected async lanes(): Promise<Array<Lane<Pushed<L, D>>>> {
    for (const queue of this.spec.channels) {
      for (let i = 0; i < this.spec.concurrency; i++) this.feeds.push(this.feedOn(queue));
    }
    return this.feeds.map((feed) => this.laneOf(feed));
  }

  /** Subscribes every lane, now if the connection is up (a broken topology fails here) and again after every reconnect. */
  protected override async attach(): Promise<void> {
    // Every link died with the connection: what they buffered can no longer be settled, the broker has it back.
    this.unlisten = this.connection.onLost(() => this.feeds.forEach((feed) => this.forget(feed)));
    this.unregister = await this.connection.onConnect(async (connection) => {
      await this.prepare?.(connection);
      for (const feed of this.feeds) await this.open(feed, connection);
    });
  }

  /** Subscribes no lane again, stops the deliveries, lets the batches in flight settle, hands back the rest, closes the links. */
  protected override async detach(settled: Promise<unknown>): Promise<void> {
    this.unregister?.();
    this.unregister = null;
    for (const { link } of this.feeds) if (link && this.unsubscribe) await this.unsubscribe(link).catch(() => {});
    await settled;
    for (const feed of this.feeds) this.handBack(feed, feed.buffer.take());
    await this.closeLinks();
  }

  /** Leaves as a crash would, handing nothing back: closing its links gives the broker back what they held. */
  override abandon(): void {
    super.abandon();
    void this.closeLinks();
  }

  /** Whether `link` still feeds a running lane: credit given to it will be used. */
  protected feeding(link: L): boolean {
    return this.runner.isRunning && this.feeds.some((feed) => feed.link === link);
  }

  /**
   * Settles, releases or gives credit on a link that may have closed meanwhile: the client throws
   * then, and the broker has the message back, so there is nothing more to do.
   */
  protected onLink(operation: () => void): void {
    try {
      operation();
    } catch (error) {
      this.logger.warn(`${this.label}: the link closed before settling (${this.connection.describe(error)}); the broker delivers it again`);
    }
  }

  private feedOn(queue: string): Feed<L, D> {
    const feed: Feed<L, D> = {
      queue,
      link: null,
      deliver: (link, delivery) => {
        if (feed.link === link) feed.buffer.push({ link, delivery });
      },
      closed: (link) => this.linkClosed(feed, link),
      buffer: new DeliveryBuffer((a, b) => a.link === b.link),
      reopening: false,
    };
    return feed;
  }

  /** A subscription as the runner's lane: its buffer's batches, settled on the link they came on. */
  private laneOf(feed: Feed<L, D>): Lane<Pushed<L, D>> {
    return {
      source: feed.queue,
      receive: (signal) => feed.buffer.next(this.spec.batch, signal),
      inbound: ({ delivery }) => this.inbound(delivery),
      settleable: (batch) => feed.link === batch[0].link,
      settle: async (batch, settlements) => {
        const { link } = batch[0];
        if (feed.link === link) return this.settle(link, feed.queue, deliveriesOf(batch), settlements);
        // The link it came on is gone, so the broker delivers the batch again; the inbox makes those duplicates.
        this.logger.warn(`${this.label} ${feed.queue}: link lost while handling a batch; the broker delivers it again`);
      },
      release: async (batch) => this.handBack(feed, batch),
    };
  }

  private async open(feed: Feed<L, D>, connection: C): Promise<void> {
    await this.subscribe(feed, connection);
    this.logger.log(`${this.label}: consuming ${feed.queue}`);
  }

  /**
   * A link closed. What it delivered is the broker's again, so what it buffered is dropped. If the
   * connection went too, its reconnect setup subscribes every lane; a link that closed alone is
   * reopened here, after a backoff, so that one the broker closes again at once is not reopened
   * in a tight loop.
   */
  private linkClosed(feed: Feed<L, D>, link: L): void {
    if (feed.link !== link) return;
    this.forget(feed);
    if (!this.runner.isRunning || feed.reopening) return;
    this.logger.warn(`${this.label} ${feed.queue}: its link closed; opening another`);
    feed.reopening = true;
    void untilStopped(
      async () => {
        // A lost connection's own setup subscribes every lane again; only a lone closed link is ours to reopen.
        if (feed.link || !this.connection.isConnected) return;
        await this.open(feed, this.connection.current());
      },
      {
        signal: this.runner.signal,
        waitFirst: true,
        onFailure: (error, wait) =>
          this.logger.warn(
            `${this.label} ${feed.queue}: reopening failed (${this.connection.describe(error)}); trying again in ${wait} ms`,
          ),
      },
    ).finally(() => (feed.reopening = false));
  }

  /** Not settled: back to the queue. Once its link is gone the broker has it back already. */
  private handBack(feed: Feed<L, D>, batch: ReadonlyArray<Pushed<L, D>>): void {
    if (batch.length > 0 && feed.link === batch[0].link) this.release(batch[0].link, deliveriesOf(batch));
  }

  private forget(feed: Feed<L, D>): void {
    feed.link = null;
    feed.buffer.take();
  }

  /** Everything is taken off the consumer before the first await: a start meanwhile attaches afresh, untouched. */
  private async closeLinks(): Promise<void> {
    this.unregister?.();
    this.unregister = null;
    this.unlisten?.();
    this.unlisten = null;
    for (const { link } of this.feeds.splice(0)) if (link) await this.closeLink(link).catch(() => {});
  }
}

function deliveriesOf<L, D>(batch: ReadonlyArray<Pushed<L, D>>): D[] {
  return batch.map(({ delivery }) => delivery);
}
