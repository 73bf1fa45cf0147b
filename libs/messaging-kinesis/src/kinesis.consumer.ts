import type { KinesisClient } from '@aws-sdk/client-kinesis';
import { LogConsumer, silentLogger, type ConsumerSpec, type Logger, type SqlExecutor } from '@boxoffice/messaging';
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { ShardKey } from './kinesis.checkpoints.js';
import { deadLetterEntries } from './kinesis.dead-letters.js';
import { LeaseCoordinator, type LeaseSettings } from './kinesis.leases.js';
import { KinesisPublisher } from './kinesis.publisher.js';
import { ShardReader } from './kinesis.shard-reader.js';
import { deadLetterStreamOf, KinesisStreams, streamOf } from './kinesis.streams.js';

export interface KinesisConsumerOptions {
  /** How long an idle shard waits between reads. Default 250 ms (Kinesis allows 5 reads a second per shard, for all consumers). */
  readonly pollIntervalMs?: number;
  readonly leases?: LeaseSettings;
  /** Shards of the `<stream>.<group>.dlt` streams `start` creates. Default 1. */
  readonly deadLetterShards?: number;
  readonly logger?: Logger;
}

/**
 * A consumer group on Kinesis streams. Kinesis keeps no cursor for a reader, so this one keeps
 * it in the consumer's database: which instance reads which shard (leases, kinesis.leases.ts)
 * and how far each shard is settled (checkpoints, written in each batch's transaction by its
 * ShardReader). Each shard this instance holds is read by a ShardReader of its own; at most
 * `concurrency` batches are in the pipeline at once.
 */
export class KinesisConsumer extends LogConsumer {
  private readonly readers = new Map<string, ShardReader>();
  private readonly leases: LeaseCoordinator;
  /** Parks dead letters on `<stream>.<group>.dlt`. */
  private readonly deadLetters: KinesisPublisher;
  private readonly logger: Logger;
  private readonly gate: <T>(work: () => Promise<T>) => Promise<T>;

  constructor(
    private readonly client: KinesisClient,
    private readonly db: SqlExecutor,
    private readonly spec: ConsumerSpec,
    private readonly options: KinesisConsumerOptions = {},
  ) {
    super();
    this.logger = options.logger ?? silentLogger;
    this.gate = slots(Math.max(1, spec.concurrency));
    this.deadLetters = new KinesisPublisher(client);
    const owner = `${spec.consumer}@${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
    this.leases = new LeaseCoordinator(
      db,
      spec.consumer,
      owner,
      { acquired: (shard) => this.read(shard), lost: (shard) => void this.readers.get(keyOf(shard))?.stop() },
      options.leases,
      this.logger,
    );
  }

  /** The shards this instance holds now. */
  get shards(): ShardKey[] {
    return this.leases.shards;
  }

  /** Creates the group's dead-letter streams, registers every shard's lease and takes a first share. */
  protected async run(): Promise<void> {
    this.phase = 'starting';
    const streams = new KinesisStreams(this.client);
    const sources = this.spec.channels.map(streamOf);
    await streams.ensure(
      sources.map((stream) => ({ stream: deadLetterStreamOf(stream, this.spec.consumer), shards: this.options.deadLetterShards ?? 1 })),
    );
    const shards = (
      await Promise.all(sources.map(async (stream) => (await streams.shards(stream)).map((shardId) => ({ stream, shardId }))))
    ).flat();
    await this.leases.start(shards);
    if (this.phase === 'starting') this.phase = 'running';
  }

  private read(shard: ShardKey): void {
    if (this.phase === 'stopping' || this.phase === 'stopped') return;
    const reader = new ShardReader(shard, {
      client: this.client,
      db: this.db,
      pipeline: this.spec.pipeline,
      batch: this.spec.batch,
      fence: (tx, key) => this.leases.fence(tx, key),
      deadLetter: async (key, records, settlements) => {
        const entries = deadLetterEntries(key, records, settlements);
        if (entries.length > 0) await this.deadLetters.put(deadLetterStreamOf(key.stream, this.spec.consumer), entries);
      },
      gate: this.gate,
      pollIntervalMs: this.options.pollIntervalMs ?? 250,
      logger: this.logger,
    });
    this.readers.set(keyOf(shard), reader);
    reader.start();
  }

  /** Reads no more, lets the batches in hand finish and commit, then gives its leases back so they move at once. */
  protected async shutdown(): Promise<void> {
    await this.startedWell();
    this.phase = 'stopping';
    await this.leases.stopRenewing();
    await Promise.all([...this.readers.values()].map((reader) => reader.stop()));
    this.readers.clear();
    await this.leases
      .release()
      .catch((error: unknown) =>
        this.logger.warn(`kinesis consumer ${this.spec.consumer}: releasing its leases failed (${String(error)}); they expire`),
      );
    this.phase = 'stopped';
  }
}

const keyOf = ({ stream, shardId }: ShardKey) => `${stream}/${shardId}`;

/** At most `count` calls at once; the others wait their turn in order. */
function slots(count: number): <T>(work: () => Promise<T>) => Promise<T> {
  let free = count;
  const waiting: Array<() => void> = [];
  return async (work) => {
    if (free === 0) await new Promise<void>((resolve) => waiting.push(resolve));
    else free -= 1;
    try {
      return await work();
    } finally {
      const next = waiting.shift();
      if (next) next();
      else free += 1;
    }
  };
}
