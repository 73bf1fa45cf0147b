import pg from 'pg';
import { setTimeout as delay } from 'node:timers/promises';
import { Backoff } from '../backoff.js';
import type { Logger } from '../logger.js';
import { silentLogger } from '../logger.js';
import { inPgTransaction } from '../pg-transaction.js';
import type { OutgoingMessage, Transport } from '../transport.port.js';
import { outboxStore, type OutboxStats, type PendingMessage } from './outbox.store.js';

export interface OutboxRelayOptions {
  /** Messages claimed and published per transaction. */
  readonly batchSize?: number;
  /**
   * Batches in flight at once per transport, each in its own claim transaction: while one waits
   * for the broker's confirms, the next is claimed and serialised. Default 2. Per-key order holds
   * as it does between separate relays (see `outboxStore.claim`).
   */
  readonly concurrency?: number;
  /** The fallback poll, for a missed notification; normally LISTEN/NOTIFY wakes the relay. */
  readonly pollIntervalMs?: number;
  /** How long published rows are kept (for inspection) before they are pruned. */
  readonly retentionMs?: number;
  readonly pruneIntervalMs?: number;
  /** Backoff after a failed publish: doubles from initial up to max, reset by a success. */
  readonly retryInitialDelayMs?: number;
  readonly retryMaxDelayMs?: number;
  readonly logger?: Logger;
}

const CHANNEL = 'outbox_message';

/** What the relay needs of a transport. */
export type Publisher = Pick<Transport, 'name' | 'publish'>;

/**
 * Publishes what the services wrote to their outbox. Each round claims a batch of pending
 * messages, publishes them (the publisher resolves only when the broker confirmed), marks them
 * published and commits. A crash after publishing and before the commit leaves them pending, so
 * they are published again: delivery is at least once, and the consumers' inboxes drop the copy.
 * Two batches are in flight by default (`concurrency`), so the database work of one overlaps the
 * broker round trip of the other. Each transport has loops and claims of its own: a broker that
 * is down holds back its own messages, never another transport's.
 */
export class OutboxRelay {
  private readonly publishers: ReadonlyArray<Publisher>;
  private readonly options: Required<Omit<OutboxRelayOptions, 'logger'>>;
  private readonly logger: Logger;
  private listener: pg.Client | null = null;
  private running: Promise<void> | null = null;
  private stopping = false;
  private readonly waiting = new Set<() => void>();
  private wakeRequested = false;
  private lastPruneAt = 0;

  readonly counters = { published: 0, failedPublishes: 0 };

  constructor(
    private readonly pool: pg.Pool,
    publishers: ReadonlyArray<Publisher>,
    options: OutboxRelayOptions = {},
  ) {
    this.publishers = publishers;
    this.logger = options.logger ?? silentLogger;
    this.options = {
      batchSize: options.batchSize ?? 500,
      concurrency: options.concurrency ?? 2,
      pollIntervalMs: options.pollIntervalMs ?? 1_000,
      retentionMs: options.retentionMs ?? 24 * 60 * 60 * 1_000,
      pruneIntervalMs: options.pruneIntervalMs ?? 60_000,
      retryInitialDelayMs: options.retryInitialDelayMs ?? 100,
      retryMaxDelayMs: options.retryMaxDelayMs ?? 10_000,
    };
  }

  async start(): Promise<void> {
    this.stopping = false;
    await this.listen();
    this.running = this.inParallel((publisher) => this.loop(publisher)).then(() => {});
    void this.warnAboutStrandedTransports();
  }

  /** Finishes the batch in flight, then stops; pending messages wait for the next start. */
  async stop(): Promise<void> {
    this.stopping = true;
    this.wakeUp();
    await this.running;
    this.running = null;
    const listener = this.listener;
    this.listener = null;
    await listener?.end().catch(() => {});
  }

  /**
   * Publishes until nothing is pending. Returns how many messages it claimed. A batch stops only
   * when its claim finds nothing: a claim that comes up empty because the other batches hold
   * every pending row is fine, since whichever batch holds a row claims again after it commits.
   */
  async drain(): Promise<number> {
    const totals = await this.inParallel(async (publisher) => {
      let total = 0;
      for (let claimed = await this.publishBatch(publisher); claimed > 0; claimed = await this.publishBatch(publisher)) total += claimed;
      return total;
    });
    return totals.reduce((sum, total) => sum + total, 0);
  }

  async stats(): Promise<OutboxStats> {
    const client = await this.pool.connect();
    try {
      return await outboxStore.stats(client);
    } finally {
      client.release();
    }
  }

  private inParallel<T>(work: (publisher: Publisher) => Promise<T>): Promise<T[]> {
    return Promise.all(this.publishers.flatMap((publisher) => Array.from({ length: this.options.concurrency }, () => work(publisher))));
  }

  private async loop(publisher: Publisher): Promise<void> {
    const backoff = new Backoff({
      initialDelayMs: this.options.retryInitialDelayMs,
      maxDelayMs: this.options.retryMaxDelayMs,
      multiplier: 2,
      jitter: 0.2,
    });
    while (!this.stopping) {
      try {
        const claimed = await this.publishBatch(publisher);
        backoff.reset();
        await this.pruneWhenDue();
        if (claimed > 0) continue; // there may be more, or messages held back for this round
        await this.waitForWork();
      } catch (error) {
        this.counters.failedPublishes += 1;
        const delayMs = backoff.next();
        this.logger.warn(`outbox relay: publish to ${publisher.name} failed (${describe(error)}); retrying in ${delayMs} ms`);
        await this.waitForWork(delayMs);
      }
    }
  }

  /** Rows for a transport this service has no publisher for would wait for ever: say so once. */
  private async warnAboutStrandedTransports(): Promise<void> {
    const client = await this.pool.connect().catch(() => null);
    if (!client) return;
    try {
      const known = new Set(this.publishers.map((p) => p.name));
      for (const transport of await outboxStore.pendingTransports(client)) {
        if (!known.has(transport))
          this.logger.error(`outbox relay: messages for ${transport} are pending, and this service has no ${transport} publisher`);
      }
    } catch {
      // Only a warning: the relay itself goes on.
    } finally {
      client.release();
    }
  }

  private async publishBatch(publisher: Publisher): Promise<number> {
    // A connection lost while we publish (database restart, failover) fails this round, not the
    // process: the claim transaction is gone, the rows are pending again, the next round retries.
    const result = await inPgTransaction(this.pool, async (client) => {
      // Marking published is the one write we can afford to lose: if PostgreSQL crashes before
      // flushing it, the messages are published again and the consumers' inboxes drop the copies.
      // So the commit does not wait for the WAL flush.
      await client.query('SET LOCAL synchronous_commit = off');
      const claimed = await outboxStore.claim(client, publisher.name, this.options.batchSize);
      const positions = claimed.messages.map((m) => m.position);
      let failure: unknown;
      try {
        if (claimed.messages.length > 0) await publisher.publish(claimed.messages.map(toOutgoing));
        await outboxStore.markPublished(client, positions);
      } catch (error) {
        failure = error;
        await outboxStore.recordFailure(client, positions, describe(error));
      }
      return { claimed: claimed.messages.length + claimed.heldBack, published: failure ? 0 : positions.length, failure };
    });
    this.counters.published += result.published;
    // Thrown after the commit, so what was published stays marked and the failures are recorded.
    if (result.failure) throw result.failure;
    return result.claimed;
  }

  private async pruneWhenDue(): Promise<void> {
    if (Date.now() - this.lastPruneAt < this.options.pruneIntervalMs) return;
    this.lastPruneAt = Date.now();
    const client = await this.pool.connect();
    try {
      const pruned = await outboxStore.prunePublished(client, this.options.retentionMs);
      if (pruned > 0) this.logger.log(`outbox relay: pruned ${pruned} published messages`);
    } finally {
      client.release();
    }
  }

  /** LISTEN on a connection of its own; if it drops, the poll carries on until it is back. */
  private async listen(): Promise<void> {
    const listener = new pg.Client(this.pool.options);
    listener.on('notification', () => this.wakeUp());
    listener.on('error', (error) => {
      this.logger.warn(`outbox relay: notification connection lost (${error.message}); polling until it is back`);
      if (this.listener === listener) this.listener = null;
      void this.relisten();
    });
    await listener.connect();
    await listener.query(`LISTEN ${CHANNEL}`);
    this.listener = listener;
  }

  private async relisten(): Promise<void> {
    while (!this.stopping && !this.listener) {
      await delay(this.options.pollIntervalMs);
      await this.listen().catch(() => {});
    }
  }

  private waitForWork(timeoutMs = this.options.pollIntervalMs): Promise<void> {
    if (this.wakeRequested || this.stopping) {
      this.wakeRequested = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.waiting.delete(done);
        resolve();
      };
      const timer = setTimeout(done, timeoutMs);
      this.waiting.add(done);
    });
  }

  /** Wakes every waiting batch loop; if none waits, the next one to wait goes straight on. */
  private wakeUp(): void {
    if (this.waiting.size === 0) this.wakeRequested = true;
    for (const done of [...this.waiting]) done();
  }
}

function toOutgoing(message: PendingMessage): OutgoingMessage {
  return { envelope: message.envelope, destination: message.destination, headers: message.headers ?? undefined };
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
