import {
  ExpiredIteratorException,
  GetRecordsCommand,
  GetShardIteratorCommand,
  type GetShardIteratorCommandInput,
  type KinesisClient,
  type _Record,
} from '@aws-sdk/client-kinesis';
import {
  describeError,
  pause,
  processUntilCommitted,
  settledPrefix,
  settleInOrder,
  silentLogger,
  untilStopped,
  type BatchProcessor,
  type BatchSettings,
  type InboundMessage,
  type Logger,
  type OrderedLog,
  type Settlement,
  type SourceSemantics,
  type SqlExecutor,
} from '@boxoffice/messaging';
import { KinesisCheckpoints, type ShardKey } from './kinesis.checkpoints.js';
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

  /** The pipeline, one batch at a time per slot of the consumer's concurrency. */
  private readonly pipeline: BatchProcessor;

  /** The shard as settleInOrder sees it. Its cursor moves in each batch's own transaction (see `process`), so `commit` has nothing left to do. */
  private readonly log: OrderedLog<PendingRecord> = {
    process: (records) => this.process(records),
    commit: async () => {},
    wait: (ms) => pause(ms, this.stopping.signal),
    retried: (pending, headers) => ({ ...pending, message: { ...pending.message, headers } }),
  };

  constructor(
    readonly shard: ShardKey,
    private readonly deps: ShardReaderDeps,
  ) {
    this.logger = deps.logger ?? silentLogger;
    this.pipeline = { process: (source, messages, semantics) => deps.gate(() => deps.pipeline.process(source, messages, semantics)) };
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
    while (!this.stopped && iterator) {
      const read = await this.read(iterator);
      if (!read) return;
      iterator = read.next;
      if (read.records.length === 0) await pause(this.deps.pollIntervalMs, this.stopping.signal);
      else if (!(await settleInOrder(read.records, this.log))) return;
    }
    if (!iterator && !this.stopped)
      this.logger.warn(`kinesis consumer ${this.describe()}: the shard is closed (resharded); read to its end`);
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

  /** One GetRecords, tried again with backoff after a failure, at once with a fresh iterator after an expired one. Null when stopping. */
  private async getRecords(
    iterator: string,
    limit: number,
  ): Promise<{ records: _Record[]; next: string | null; behindMs: number | undefined } | null> {
    let current = iterator;
    const send = () =>
      this.deps.client.send(new GetRecordsCommand({ ShardIterator: current, Limit: limit }), { abortSignal: this.stopping.signal });
    const page = await this.untilStopped(async () => {
      try {
        return await send();
      } catch (error) {
        if (!(error instanceof ExpiredIteratorException)) throw error;
        // Iterators last five minutes; a long wait outlives them. Go on after what was read.
        current = (await this.iterator()) ?? current;
        return await send();
      }
    });
    if (!page) return null;
    const records = page.Records ?? [];
    if (records.length > 0) this.lastRead = records.at(-1)!.SequenceNumber!;
    return { records, next: page.NextShardIterator ?? null, behindMs: page.MillisBehindLatest };
  }

  private async iterator(): Promise<string | null> {
    const input: GetShardIteratorCommandInput = this.lastRead
      ? {
          StreamName: this.shard.stream,
          ShardId: this.shard.shardId,
          ShardIteratorType: 'AFTER_SEQUENCE_NUMBER',
          StartingSequenceNumber: this.lastRead,
        }
      : { StreamName: this.shard.stream, ShardId: this.shard.shardId, ShardIteratorType: 'TRIM_HORIZON' };
    const { ShardIterator } = await this.deps.client.send(new GetShardIteratorCommand(input));
    return ShardIterator ?? null;
  }

  /**
   * The pipeline's settlements, tried again while the database is away; null when stopping or the
   * lease is lost. In the batch's transaction the lease is fenced, the dead letters parked and the
   * checkpoint moved past what is settled, so they commit with the inbox rows or not at all.
   */
  private process(records: ReadonlyArray<PendingRecord>): Promise<Settlement[] | null> {
    const { shard } = this;
    const { fence, deadLetter } = this.deps;
    const semantics: SourceSemantics = {
      ordered: true,
      // Every consumer reads every event type on the stream: one it does not handle is passed over.
      exclusive: false,
      withinTransaction: async (tx, settlements) => {
        await fence(tx, shard);
        const settled = settledPrefix(settlements);
        await deadLetter(shard, records.slice(0, settled), settlements.slice(0, settled));
        if (settled > 0) await KinesisCheckpoints.write(tx, shard, records[settled - 1].record.SequenceNumber!);
      },
    };
    return processUntilCommitted(
      this.pipeline,
      shard.stream,
      records.map(({ message }) => message),
      semantics,
      {
        signal: this.stopping.signal,
        giveUp: (error) => this.leaseLost(error),
        logger: this.logger,
        label: `kinesis consumer ${shard.consumer} on ${shard.shardId} of`,
      },
    );
  }

  /** A lost lease ends the reading: the batch rolled back, and the shard's new owner reads it from the checkpoint. */
  private leaseLost(error: unknown): boolean {
    if (!(error instanceof LeaseLost)) return false;
    this.logger.warn(`kinesis consumer ${this.describe()}: ${error.message}; its batch rolled back, the new owner reads it`);
    return true;
  }

  /** A call tried again with backoff until it works; undefined when stopping. */
  private untilStopped<T>(step: () => Promise<T>): Promise<T | undefined> {
    return untilStopped(step, {
      signal: this.stopping.signal,
      onFailure: (error, wait) =>
        this.logger.warn(`kinesis consumer ${this.describe()}: ${describeError(error)}; trying again in ${wait} ms`),
    });
  }
}
