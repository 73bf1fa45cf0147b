import {
  ExpiredIteratorException,
  GetRecordsCommand,
  GetShardIteratorCommand,
  type GetShardIteratorCommandInput,
  type KinesisClient,
  type _Record,
} from '@aws-sdk/client-kinesis';
import {
  Backoff,
  reconnectBackoff,
  silentLogger,
  type BatchSettings,
  type BatchProcessor,
  type InboundMessage,
  type Logger,
  type Settlement,
  type SqlExecutor,
} from '@boxoffice/messaging';
import { setTimeout as delay } from 'node:timers/promises';
import { KinesisCheckpoints, settledPrefix, type ShardKey } from './kinesis.checkpoints.js';
import { decodeFrame } from './kinesis.framing.js';
import { LeaseLost } from './kinesis.leases.js';

/** A record read from the shard, with the headers it carries now (a retried one's are new). */
export interface PendingRecord {
  readonly record: _Record;
  readonly message: InboundMessage;
}

export interface ShardReaderDeps {
  readonly client: KinesisClient;
  readonly db: SqlExecutor;
  readonly pipeline: BatchProcessor;
  readonly batch: BatchSettings;
  /** In the batch's transaction, first: throws LeaseLost when the shard is no longer this instance's. */
  readonly fence: (tx: SqlExecutor, shard: ShardKey) => Promise<void>;
  /** Parks the dead letters of a batch (in its transaction, before the checkpoint passes them). */
  readonly deadLetter: (shard: ShardKey, records: ReadonlyArray<PendingRecord>, settlements: ReadonlyArray<Settlement>) => Promise<void>;
  /** Admits one batch at a time per slot: the consumer's concurrency. */
  readonly gate: <T>(work: () => Promise<T>) => Promise<T>;
  /** How long an idle shard waits between reads. */
  readonly pollIntervalMs: number;
  readonly logger?: Logger;
}

/**
 * One shard, read in order by the instance holding its lease: from its checkpoint
 * (AFTER_SEQUENCE_NUMBER), or from the oldest record kept (TRIM_HORIZON) for a consumer that
 * has none, as a new Kafka group here starts from the earliest offset. Records go to the
 * pipeline in batches; in each batch's transaction the lease is fenced, dead letters parked and
 * the checkpoint moved past what is settled. A retry waits in place (the shard waits, its order
 * holds) and the batch goes again from the retried record.
 */
export class ShardReader {
  private readonly stopping = new AbortController();
  private running: Promise<void> | null = null;
  private readonly logger: Logger;
  /** The last record read from the shard, where a fresh iterator continues after an expired one. */
  private lastRead: string | null = null;

  constructor(
    readonly shard: ShardKey,
    private readonly deps: ShardReaderDeps,
  ) {
    this.logger = deps.logger ?? silentLogger;
  }

  start(): void {
    this.running ??= this.run().catch((error: unknown) => this.logger.error(`kinesis consumer ${this.describe()}: stopped reading`, error));
  }

  /** Reads no more and abandons a retry wait; the batch being handled finishes (and commits, if the lease holds). */
  async stop(): Promise<void> {
    this.stopping.abort();
    await this.running;
  }

  private describe(): string {
    return `${this.shard.consumer} on ${this.shard.stream}/${this.shard.shardId}`;
  }

  private get stopped(): boolean {
    return this.stopping.signal.aborted;
  }

  private async run(): Promise<void> {
    const checkpoint = await this.untilStopped(() => KinesisCheckpoints.read(this.deps.db, this.shard));
    if (checkpoint === undefined) return;
    this.lastRead = checkpoint;
    let iterator: string | null | undefined = await this.untilStopped(() => this.iterator());
    let pending: PendingRecord[] = [];
    while (!this.stopped && iterator) {
      if (pending.length === 0) {
        const read = await this.read(iterator);
        if (!read) return;
        iterator = read.next;
        pending = read.records;
        if (pending.length === 0) {
          await this.wait(this.deps.pollIntervalMs);
          continue;
        }
      }
      const chunk = pending.slice(0, this.deps.batch.maxMessages);
      const settlements = await this.process(chunk);
      if (!settlements) return;
      const settled = settledPrefix(settlements);
      if (settled === chunk.length) {
        pending = pending.slice(settled);
        continue;
      }
      const retry = settlements[settled];
      // The pipeline holds back what follows a retry, so the first unsettled one is the retry itself.
      if (!(await this.wait(retry.kind === 'retry' ? retry.delayMs : 0))) return;
      pending = pending.slice(settled).map((entry, i) =>
        i === 0 && retry.kind === 'retry' ? { ...entry, message: { ...entry.message, headers: retry.headers } } : entry,
      );
    }
    if (!iterator && !this.stopped) this.logger.warn(`kinesis consumer ${this.describe()}: the shard is closed (resharded); read to its end`);
  }

  /**
   * What the shard has next, up to a batch: reads again while a batch is not full, the shard is
   * behind, and the batch's wait has not passed. Null when stopping.
   */
  private async read(iterator: string): Promise<{ records: PendingRecord[]; next: string | null } | null> {
    const { maxMessages, maxWaitMs } = this.deps.batch;
    const began = Date.now();
    const records: PendingRecord[] = [];
    let next: string | null = iterator;
    while (next && records.length < maxMessages) {
      const page = await this.getRecords(next, maxMessages - records.length);
      if (!page) return null;
      next = page.next;
      records.push(...page.records.map((record) => ({ record, message: decodeFrame(record.Data) })));
      if (page.records.length === 0 || page.behindMs === 0 || Date.now() - began >= maxWaitMs) break;
    }
    return { records, next };
  }

  /** One GetRecords, again with backoff after a failure, with a fresh iterator after an expired one. Null when stopping. */
  private async getRecords(iterator: string, limit: number): Promise<{ records: _Record[]; next: string | null; behindMs: number | undefined } | null> {
    const backoff = new Backoff(reconnectBackoff);
    let current = iterator;
    for (;;) {
      try {
        const page = await this.deps.client.send(new GetRecordsCommand({ ShardIterator: current, Limit: limit }), { abortSignal: this.stopping.signal });
        const records = page.Records ?? [];
        if (records.length > 0) this.lastRead = records.at(-1)!.SequenceNumber!;
        return { records, next: page.NextShardIterator ?? null, behindMs: page.MillisBehindLatest };
      } catch (error) {
        if (this.stopped) return null;
        if (error instanceof ExpiredIteratorException) {
          // Iterators last five minutes; a long wait outlives them. Go on after what was read.
          const fresh = await this.untilStopped(() => this.iterator());
          if (!fresh) return null;
          current = fresh;
          continue;
        }
        const wait = backoff.next();
        this.logger.warn(`kinesis consumer ${this.describe()}: reading failed (${String(error)}); again in ${wait} ms`);
        if (!(await this.wait(wait))) return null;
      }
    }
  }

  private async iterator(): Promise<string | null> {
    const input: GetShardIteratorCommandInput = this.lastRead
      ? { StreamName: this.shard.stream, ShardId: this.shard.shardId, ShardIteratorType: 'AFTER_SEQUENCE_NUMBER', StartingSequenceNumber: this.lastRead }
      : { StreamName: this.shard.stream, ShardId: this.shard.shardId, ShardIteratorType: 'TRIM_HORIZON' };
    const { ShardIterator } = await this.deps.client.send(new GetShardIteratorCommand(input));
    return ShardIterator ?? null;
  }

  /** The pipeline's settlements, trying again after a backoff while the database is away; null when stopping or the lease is lost. */
  private async process(chunk: ReadonlyArray<PendingRecord>): Promise<Settlement[] | null> {
    const backoff = new Backoff(reconnectBackoff);
    const shard = this.shard;
    const { fence, deadLetter } = this.deps;
    const semantics = {
      ordered: true,
      // Every consumer reads every event type on the stream: one it does not handle is passed over.
      exclusive: false,
      withinTransaction: async (tx: SqlExecutor, settlements: ReadonlyArray<Settlement>) => {
        await fence(tx, shard);
        const settled = settledPrefix(settlements);
        await deadLetter(shard, chunk.slice(0, settled), settlements.slice(0, settled));
        if (settled > 0) await KinesisCheckpoints.write(tx, shard, chunk[settled - 1].record.SequenceNumber!);
      },
    };
    for (;;) {
      try {
        return await this.deps.gate(() => this.deps.pipeline.process(shard.stream, chunk.map(({ message }) => message), semantics));
      } catch (error) {
        if (error instanceof LeaseLost) {
          this.logger.warn(`kinesis consumer ${this.describe()}: ${error.message}; its batch rolled back, the new owner reads it`);
          return null;
        }
        if (this.stopped) return null;
        const wait = backoff.next();
        this.logger.warn(`kinesis consumer ${this.describe()}: a batch of ${chunk.length} failed (${String(error)}); trying it again in ${wait} ms`);
        if (!(await this.wait(wait))) return null;
      }
    }
  }

  /** Waits, unless stopping; false if it stopped. */
  private wait(ms: number): Promise<boolean> {
    if (this.stopped) return Promise.resolve(false);
    return delay(ms, undefined, { signal: this.stopping.signal }).then(
      () => true,
      () => false,
    );
  }

  /** A call tried again with backoff until it works; undefined when stopping. */
  private async untilStopped<T>(call: () => Promise<T>): Promise<T | undefined> {
    const backoff = new Backoff(reconnectBackoff);
    for (;;) {
      try {
        return await call();
      } catch (error) {
        if (this.stopped) return undefined;
        const wait = backoff.next();
        this.logger.warn(`kinesis consumer ${this.describe()}: ${String(error)}; again in ${wait} ms`);
        if (!(await this.wait(wait))) return undefined;
      }
    }
  }
}
