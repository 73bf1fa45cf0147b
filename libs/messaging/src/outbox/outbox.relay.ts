import pg from 'pg';
import { setTimeout as delay } from 'node:timers/promises';
import { Backoff } from '../backoff.js';
import type { Logger } from '../logger.js';
import { silentLogger } from '../logger.js';
import { inPgTransaction } from '../pg-transaction.js';
import { describeDestination } from '../destination.js';
import { unlessAborted } from '../runtime/publish.confirmations.js';
import { PublishIncomplete, type OutgoingMessage, type Transport } from '../transport.port.js';
import { outboxStore, type FailedRow, type OutboxStats, type PendingMessage } from './outbox.store.js';

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
  /**
   * Backoff after a failed publish: doubles from initial up to max, reset by a success. A message
   * the broker refused waits the same way, on its own, before it is claimed again.
   */
  readonly retryInitialDelayMs?: number;
  readonly retryMaxDelayMs?: number;
  /** Refusals after which a message is parked: out of the relay's way until retried or discarded (npm run dlq -- outbox). Default 10. */
  readonly maxAttempts?: number;
  /**
   * How long a publish may wait for the broker's confirms. Past it the publish has failed as a
   * whole (the rows stay pending, no attempt is counted), the claim is committed and its
   * connection and row locks let go, and the loop backs off and tries again; the publisher's
   * signal is aborted so that it lets go too. Without it a broker that takes the messages and
   * never confirms (RabbitMQ under a memory alarm) would hold the claim, and `stop()`, for ever.
   * Default 10 s.
   */
  readonly publishTimeoutMs?: number;
  readonly logger?: Logger;
}

const CHANNEL = 'outbox_message';
/**
 * Each round's transaction runs with these, sent with its BEGIN. Marking published is the one
 * write we can afford to lose: if PostgreSQL crashes before flushing it, the messages are
 * published again and the consumers' inboxes drop the copies, so the commit does not wait for the
 * WAL flush. And the claim walks the pending index in order, never by a bitmap: only a plain index
 * scan marks the entries of rows published since as dead, so that the next claim skips them
 * instead of visiting each of them again (on a busy outbox a bitmap claim read thousands of pages
 * for a few dozen rows).
 */
const CLAIM_SETTINGS = ['synchronous_commit = off', 'enable_bitmapscan = off'];

/** What the relay needs of a transport. */
export type Publisher = Pick<Transport, 'name' | 'publish'>;

/** A publish whose confirms did not all come within `publishTimeoutMs`: a failure of the whole publish, not a refusal. */
class PublishTimedOut extends Error {
  constructor(transport: string, timeoutMs: number) {
    super(`no confirmation from ${transport} within ${timeoutMs} ms`);
    this.name = 'PublishTimedOut';
  }
}

/**
 * Publishes what the services wrote to their outbox. Each round claims a batch of pending
 * messages, publishes them (the publisher resolves only when the broker confirmed, within
 * `publishTimeoutMs`), marks them published and commits. A crash after publishing and before the
 * commit leaves them pending, so they are published again: delivery is at least once, and the
 * consumers' inboxes drop the copy. Two batches are in flight by default (`concurrency`), so the
 * database work of one overlaps the broker round trip of the other. Each transport has loops and
 * claims of its own, started on their own (`start(['rabbitmq'])`): a broker that is down, or not
 * up yet, holds back its own messages, never another transport's.
 */
export class OutboxRelay {
  private readonly publishers: ReadonlyArray<Publisher>;
  private readonly options: Required<Omit<OutboxRelayOptions, 'logger'>>;
  private readonly logger: Logger;
  private listener: pg.Client | null = null;
  private listening: Promise<void> | null = null;
  /** Per transport, its batch loops while they run. */
  private readonly loops = new Map<string, Promise<void>>();
  private stopping = false;
  /** Per transport, the wake-up of each of its batch loops that waits for work. */
  private readonly waiting = new Map<string, Set<() => void>>();
  /** Transports woken while none of their loops waited: the next of theirs to wait goes straight on. */
  private readonly wakeRequested = new Set<string>();
  private lastPruneAt = 0;
  /** Per transport, when the first message it refused may be tried again: the loop wakes for it. */
  private readonly nextAttemptAt = new Map<string, number>();

  readonly counters = { published: 0, failedPublishes: 0, refused: 0, parked: 0 };

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
      maxAttempts: options.maxAttempts ?? 10,
      publishTimeoutMs: options.publishTimeoutMs ?? 10_000,
    };
  }

  /**
   * Starts publishing to the named transports (every one unless told). Called again with others,
   * it adds their loops: a service starts each transport's as soon as that broker is up, so one
   * that is down at boot holds back nothing but its own messages.
   */
  async start(transports: ReadonlyArray<string> = this.publishers.map((p) => p.name)): Promise<void> {
    const unknown = transports.filter((name) => !this.publishers.some((p) => p.name === name));
    if (unknown.length > 0) throw new Error(`outbox relay: no publisher for ${unknown.join(', ')}`);
    const first = this.loops.size === 0;
    if (first) this.stopping = false;
    this.listening ??= this.listen().catch((error: unknown) => {
      this.listening = null;
      throw error;
    });
    await this.listening;
    if (this.stopping) return;
    for (const publisher of this.publishers) {
      if (!transports.includes(publisher.name) || this.loops.has(publisher.name)) continue;
      const loops = Array.from({ length: this.options.concurrency }, () => this.loop(publisher));
      this.loops.set(
        publisher.name,
        Promise.all(loops).then(() => {}),
      );
    }
    if (first) void this.warnAboutStrandedTransports();
  }

  /**
   * Finishes the batches in flight, then stops; pending messages wait for the next start. A batch
   * in flight ends by `publishTimeoutMs` at the latest, confirmed or not. Given `flushUntil` (a
   * Date.now() time), it then publishes what is still pending and may go now, round by round until
   * nothing is left or that time comes: a service that stops hands on what it committed, its last
   * consumed batches' messages too.
   */
  async stop(flushUntil?: number): Promise<void> {
    const publishing = this.publishers.filter((publisher) => this.loops.has(publisher.name));
    this.stopping = true;
    this.wakeUp('all');
    await Promise.all(this.loops.values());
    this.loops.clear();
    const flush = async (publisher: Publisher) => {
      while (Date.now() < flushUntil! && (await this.publishBatch(publisher)).sent > 0);
    };
    if (flushUntil !== undefined)
      await Promise.all(publishing.map(flush)).catch((error: unknown) =>
        this.logger.warn(`outbox relay: stopped flushing (${describe(error)}); what is left stays pending`),
      );
    await this.listening?.catch(() => {});
    this.listening = null;
    const listener = this.listener;
    this.listener = null;
    await listener?.end().catch(() => {});
  }

  /** The transports it publishes to now (started, and not stopped). */
  get publishing(): string[] {
    return [...this.loops.keys()];
  }

  /**
   * Publishes until nothing is pending that may go now. Returns how many messages it sent. A batch
   * stops only when its claim finds nothing: a claim that comes up empty because the other batches
   * hold every pending row is fine, since whichever batch holds a row claims again after it commits.
   */
  async drain(): Promise<number> {
    const totals = await this.inParallel(async (publisher) => {
      let total = 0;
      for (let round = await this.publishBatch(publisher); round.sent + round.heldBack > 0; round = await this.publishBatch(publisher)) {
        total += round.sent;
        if (round.sent === 0) await delay(this.options.retryInitialDelayMs); // held behind a message waiting its turn
      }
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
        const { sent, heldBack } = await this.publishBatch(publisher);
        backoff.reset();
        await this.pruneWhenDue();
        // A full batch: there may be more, so claim again at once. A batch short of full took all
        // that was pending when it claimed; what was written since has notified, and woken a loop.
        if (sent + heldBack >= this.options.batchSize) continue;
        // Held back behind an earlier message of their key (in another batch, or refused and waiting
        // its turn): look again shortly. Otherwise sleep until woken, the poll, or a refused message's turn.
        const dueInMs = (this.nextAttemptAt.get(publisher.name) ?? Infinity) - Date.now();
        if (dueInMs <= 0) this.nextAttemptAt.delete(publisher.name);
        await this.waitForWork(
          publisher.name,
          heldBack > 0 ? this.options.retryInitialDelayMs : Math.min(this.options.pollIntervalMs, Math.max(0, dueInMs)),
        );
      } catch (error) {
        this.counters.failedPublishes += 1;
        const delayMs = backoff.next();
        this.logger.warn(`outbox relay: publish to ${publisher.name} failed (${describe(error)}); retrying in ${delayMs} ms`);
        await this.waitForWork(publisher.name, delayMs);
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

  /**
   * One round: claim, publish, and record what the broker took, message by message. What it took
   * is marked published and never sent again, whatever happened to its neighbours. What it refused
   * waits on its own (`recordFailed`) and is parked after `maxAttempts`. A publish that failed as a
   * whole keeps the batch pending and backs the loop off.
   */
  private async publishBatch(publisher: Publisher): Promise<{ sent: number; heldBack: number }> {
    // A connection lost while we publish (database restart, failover) fails this round, not the
    // process: the claim transaction is gone, the rows are pending again, the next round retries.
    const result = await inPgTransaction(
      this.pool,
      async (client) => {
        const claimed = await outboxStore.claim(client, publisher.name, this.options.batchSize);
        const { taken, failed, failure } = await this.publishAll(publisher, claimed.messages);
        await outboxStore.markPublished(client, taken);
        if (failure && !(failure instanceof PublishIncomplete))
          await outboxStore.recordFailure(
            client,
            failed.map((f) => f.position),
            describe(failure),
          );
        const { parked, nextAttemptAt } =
          failure instanceof PublishIncomplete
            ? await outboxStore.recordFailed(client, failed, {
                maxAttempts: this.options.maxAttempts,
                initialDelayMs: this.options.retryInitialDelayMs,
                maxDelayMs: this.options.retryMaxDelayMs,
              })
            : { parked: [], nextAttemptAt: null };
        return {
          sent: claimed.messages.length,
          heldBack: claimed.heldBack,
          published: taken.length,
          failed,
          failure,
          parked,
          nextAttemptAt,
        };
      },
      { settings: CLAIM_SETTINGS },
    );
    if (result.nextAttemptAt) {
      // The earliest turn still to come: one already past has been claimed, or is being.
      const known = this.nextAttemptAt.get(publisher.name);
      const next = result.nextAttemptAt.getTime();
      this.nextAttemptAt.set(publisher.name, known !== undefined && known > Date.now() ? Math.min(known, next) : next);
    }
    this.counters.published += result.published;
    this.counters.refused += result.failed.filter((f) => f.refused).length;
    this.counters.parked += result.parked.length;
    for (const row of result.parked)
      this.logger.error(
        `outbox relay: parked message ${row.id} (${row.type} to ${describeDestination(row.destination)}) after ${row.attempts} refusals: ${row.lastError}; ` +
          'see `npm run dlq -- outbox list`',
      );
    // Refusals alone are the messages' own business: the relay goes on with the rest at once.
    const onlyRefusals = result.failure instanceof PublishIncomplete && result.failed.every((f) => f.refused);
    if (result.failure && !onlyRefusals) throw result.failure; // after the commit: what was taken stays marked
    if (onlyRefusals) this.logger.warn(`outbox relay: ${describe(result.failure)}; the refused messages wait on their own`);
    return { sent: result.sent, heldBack: result.heldBack };
  }

  /** Publishes the batch and says, row by row, what the broker took by the deadline. */
  private async publishAll(
    publisher: Publisher,
    messages: ReadonlyArray<PendingMessage>,
  ): Promise<{ taken: string[]; failed: FailedRow[]; failure: unknown }> {
    const positions = messages.map((m) => m.position);
    if (messages.length === 0) return { taken: [], failed: [], failure: null };
    try {
      await this.withinDeadline(publisher, (signal) => publisher.publish(messages.map(toOutgoing), { signal }));
      return { taken: positions, failed: [], failure: null };
    } catch (failure) {
      // Only an account of exactly this batch, one entry a message, says who was taken.
      if (!(failure instanceof PublishIncomplete) || failure.total !== messages.length) {
        return { taken: [], failed: positions.map((position) => ({ position, reason: describe(failure), refused: false })), failure };
      }
      const failed = [...failure.failed].map(([index, { reason, refused }]) => ({ position: positions[index], reason, refused }));
      return { taken: positions.filter((_, index) => !failure.failed.has(index)), failed, failure };
    }
  }

  /**
   * The publish, or PublishTimedOut once `publishTimeoutMs` has passed, whichever comes first. The
   * publisher's signal is aborted then, for it to let go of what it holds; whatever it answers
   * later is not waited for. The one deadline for every transport.
   */
  private withinDeadline(publisher: Publisher, publish: (signal: AbortSignal) => Promise<void>): Promise<void> {
    const deadline = new AbortController();
    const { publishTimeoutMs } = this.options;
    const timer = setTimeout(() => deadline.abort(new PublishTimedOut(publisher.name, publishTimeoutMs)), publishTimeoutMs);
    return unlessAborted(publish(deadline.signal), deadline.signal).finally(() => clearTimeout(timer));
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
    // The payload names the transport a commit wrote messages for (outbox-notify-transport.sql);
    // an empty one (a parked message retried, or a database migrated before that) may mean any.
    listener.on('notification', ({ payload }) => this.wakeUp('one', payload || undefined));
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

  private waitForWork(transport: string, timeoutMs: number): Promise<void> {
    if (this.wakeRequested.delete(transport) || this.stopping) return Promise.resolve();
    const waiting = this.waiting.get(transport) ?? new Set();
    this.waiting.set(transport, waiting);
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        waiting.delete(done);
        resolve();
      };
      const timer = setTimeout(done, timeoutMs);
      waiting.add(done);
    });
  }

  /**
   * Wakes one waiting batch loop of `transport` (of each transport, when not told), or every loop.
   * A commit's messages for a transport are one batch's work: a second loop woken for them would
   * only claim nothing (SKIP LOCKED), in a transaction of its own, and so would a loop of another
   * transport. A transport none of whose loops waits goes straight on at its next wait.
   */
  private wakeUp(whom: 'one' | 'all', transport?: string): void {
    for (const { name } of this.publishers) {
      if (transport !== undefined && name !== transport) continue;
      const waiting = [...(this.waiting.get(name) ?? [])];
      if (waiting.length === 0) this.wakeRequested.add(name);
      for (const done of whom === 'one' ? waiting.slice(0, 1) : waiting) done();
    }
  }
}

function toOutgoing(message: PendingMessage): OutgoingMessage {
  return { envelope: message.envelope, destination: message.destination, headers: message.headers ?? undefined };
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
