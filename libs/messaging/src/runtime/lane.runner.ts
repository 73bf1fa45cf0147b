import { Backoff, reconnectBackoff } from '../backoff.js';
import type { BatchProcessor, InboundMessage, Settlement, SourceSemantics } from '../transport.port.js';
import { silentLogger, type Logger } from '../logger.js';
import { processUntilCommitted } from './batch.attempts.js';
import { settleInOrder } from './ordered-log.js';
import { describeError, pause } from './stoppable.js';

/**
 * One lane of a queue consumer, in its broker's terms: where its batches come from and how they
 * are settled. A lane runs one batch at a time; a consumer runs several (its concurrency) per queue.
 */
export interface Lane<D> {
  /** The queue it consumes: the pipeline's source. */
  readonly source: string;
  /** How its source behaves, where it differs from the runner's (a consumer whose channels are queues and logs both). */
  readonly semantics?: SourceSemantics;
  /**
   * The next batch: [] when there is nothing yet, or once `signal` aborts. A throw (the broker
   * away) is tried again after a backoff.
   */
  receive(signal: AbortSignal): Promise<D[]>;
  /** A delivery as the pipeline reads it. */
  inbound(delivery: D): InboundMessage;
  /** Carries out the pipeline's settlements, after its commit. */
  settle(batch: ReadonlyArray<D>, settlements: ReadonlyArray<Settlement>): Promise<void>;
  /** Hands back a batch left unsettled (stopping, or it can no longer be settled), for the broker to deliver again. */
  release(batch: ReadonlyArray<D>): Promise<void>;
  /** Whether the batch can still be settled (the channel it came on is open); false gives it up. */
  settleable?(batch: ReadonlyArray<D>): boolean;
  /**
   * Keeps the batch this lane's while the pipeline works on it (a visibility timeout, `renewEvery`);
   * returns the function that ends it, which an abandon calls too: a dead process renews nothing.
   */
  keepAlive?(batch: ReadonlyArray<D>): () => void;
  /**
   * Set by a lane that reads its source in order (a stream one lane reads as a log): a retry
   * waits in place. The batch is settled in order (settleInOrder): `settle` gets each settled
   * prefix, a retry's delay is waited where the lane stands (keepAlive running all along), the
   * retried delivery goes to the pipeline again with the failure headers of its retry, and what
   * is left unsettled when the runner stops is released.
   */
  readonly retriesInPlace?: boolean;
}

export interface LaneRunnerOptions {
  readonly pipeline: BatchProcessor;
  readonly semantics: SourceSemantics;
  /** Names the consumer in log lines: `rabbitmq consumer billing`. */
  readonly label: string;
  /** How long `stop()` waits for the batches in flight; after that the broker delivers them again. */
  readonly stopTimeoutMs?: number;
  readonly logger?: Logger;
}

/**
 * The loop of every queue consumer: each lane takes a batch, has the pipeline process it (again
 * while the database is away), carries out the settlements, and takes the next, until stopped.
 * A stop lets the batches in flight finish and settle; an abandon (a crash, for tests) settles
 * nothing more.
 */
export class LaneRunner<D> {
  private halt = new AbortController();
  private running: Array<Promise<void>> = [];
  private abandoned = false;
  /** The keepAlive of each batch in the pipeline, ended by an abandon as by the batch's end. */
  private readonly keeping = new Set<() => void>();
  private readonly logger: Logger;

  constructor(private readonly options: LaneRunnerOptions) {
    this.logger = options.logger ?? silentLogger;
  }

  /** Aborts when the runner stops: for the adapter's own waits (a long poll). */
  get signal(): AbortSignal {
    return this.halt.signal;
  }

  get isRunning(): boolean {
    return this.running.length > 0 && !this.halt.signal.aborted;
  }

  start(lanes: ReadonlyArray<Lane<D>>): void {
    if (this.isRunning) throw new Error(`${this.options.label}: already running`);
    this.halt = new AbortController();
    this.abandoned = false;
    this.running = lanes.map((lane) => this.run(lane));
  }

  /** Takes no more batches and waits (up to `stopTimeoutMs`) for those in flight to settle; false if they did not. */
  async stop(): Promise<boolean> {
    this.halt.abort();
    const timeoutMs = this.options.stopTimeoutMs ?? 10_000;
    const timer = new AbortController();
    const finished = await Promise.race([
      Promise.allSettled(this.running).then(() => true),
      pause(timeoutMs, timer.signal).then(() => false),
    ]);
    timer.abort();
    this.running = [];
    if (!finished)
      this.logger.warn(`${this.options.label}: batches still running after ${timeoutMs} ms; the broker delivers their messages again`);
    return finished;
  }

  /** Leaves at once and settles nothing more, as a crash would: what is in flight is delivered again. */
  abandon(): void {
    this.abandoned = true;
    this.halt.abort();
    this.running = [];
    for (const end of [...this.keeping]) end();
  }

  private async run(lane: Lane<D>): Promise<void> {
    const signal = this.halt.signal;
    const backoff = new Backoff(reconnectBackoff);
    while (!signal.aborted) {
      let batch: D[];
      try {
        batch = await lane.receive(signal);
        backoff.reset();
      } catch (error) {
        if (signal.aborted) break;
        const wait = backoff.next();
        this.logger.warn(`${this.options.label} ${lane.source}: receiving failed (${describeError(error)}); trying again in ${wait} ms`);
        await pause(wait, signal);
        continue;
      }
      if (batch.length > 0) await this.handle(lane, batch, signal);
    }
  }

  private async handle(lane: Lane<D>, batch: ReadonlyArray<D>, signal: AbortSignal): Promise<void> {
    if (lane.retriesInPlace) return this.handleInOrder(lane, batch, signal);
    const settlements = await processUntilCommitted(
      this.options.pipeline,
      lane.source,
      batch.map((delivery) => lane.inbound(delivery)),
      lane.semantics ?? this.options.semantics,
      {
        signal,
        settleable: lane.settleable && (() => lane.settleable!(batch)),
        keepAlive: lane.keepAlive && (() => this.keepAlive(lane, batch)),
        logger: this.logger,
        label: this.options.label,
      },
    );
    if (this.abandoned) return;
    try {
      if (settlements) await lane.settle(batch, settlements);
      else await lane.release(batch);
    } catch (error) {
      this.logger.error(
        `${this.options.label} ${lane.source}: settling a batch of ${batch.length} failed; the broker delivers it again`,
        error,
      );
    }
  }

  /** Starts the lane's keepAlive of `batch`; the function returned ends it, once. */
  private keepAlive(lane: Lane<D>, batch: ReadonlyArray<D>): () => void {
    const stop = lane.keepAlive!(batch);
    const end = () => {
      if (this.keeping.delete(end)) stop();
    };
    this.keeping.add(end);
    return end;
  }

  /** A batch of an ordered lane: its settled prefix settled, a retry waited out in place, the rest released if stopped first. */
  private async handleInOrder(lane: Lane<D>, batch: ReadonlyArray<D>, signal: AbortSignal): Promise<void> {
    const stopKeeping = lane.keepAlive && this.keepAlive(lane, batch);
    let settled = 0;
    try {
      const records = batch.map((delivery): InOrder<D> => ({ delivery, message: lane.inbound(delivery) }));
      const done = await settleInOrder(records, {
        process: (prefix) =>
          processUntilCommitted(
            this.options.pipeline,
            lane.source,
            prefix.map(({ message }) => message),
            lane.semantics ?? this.options.semantics,
            {
              signal,
              settleable: lane.settleable && (() => lane.settleable!(deliveriesOf(prefix))),
              logger: this.logger,
              label: this.options.label,
            },
          ),
        commit: async (prefix, settlements) => {
          if (this.abandoned) return;
          await lane.settle(deliveriesOf(prefix), settlements);
          settled += prefix.length;
        },
        wait: (ms) => pause(ms, signal),
        retried: (record, headers) => ({ ...record, message: { ...record.message, headers } }),
      });
      if (!done && !this.abandoned) await lane.release(batch.slice(settled));
    } catch (error) {
      this.logger.error(
        `${this.options.label} ${lane.source}: settling a batch of ${batch.length} in order failed; the broker delivers what is unsettled again`,
        error,
      );
    } finally {
      stopKeeping?.();
    }
  }
}

/** A delivery of a lane that retries in place, with the message the pipeline reads: a retried one's carries its new failure headers. */
interface InOrder<D> {
  readonly delivery: D;
  readonly message: InboundMessage;
}

function deliveriesOf<D>(records: ReadonlyArray<InOrder<D>>): D[] {
  return records.map(({ delivery }) => delivery);
}
