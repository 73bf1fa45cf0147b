import type { SqlExecutor } from '@boxoffice/messaging';

/** One shard of one stream, as a consumer reads it. */
export interface ShardKey {
  readonly consumer: string;
  readonly stream: string;
  readonly shardId: string;
}

/**
 * The consumer's cursor in each shard, in its own database (stream_checkpoint), since Kinesis
 * keeps none: the sequence number of the last settled record. Written in the batch's transaction,
 * so it commits with the inbox rows and the handlers' effects, or not at all.
 */
export const KinesisCheckpoints = {
  async read(db: SqlExecutor, { consumer, stream, shardId }: ShardKey): Promise<string | null> {
    const rows = await db.$queryRawUnsafe<Array<{ sequence_number: string }>>(
      'SELECT sequence_number FROM stream_checkpoint WHERE consumer = $1 AND stream = $2 AND shard_id = $3',
      consumer,
      stream,
      shardId,
    );
    return rows[0]?.sequence_number ?? null;
  },

  /** Moves the cursor forward only: sequence numbers grow within a shard (compared as numbers, they are up to 128 bits). */
  async write(tx: SqlExecutor, { consumer, stream, shardId }: ShardKey, sequenceNumber: string): Promise<void> {
    await tx.$executeRawUnsafe(
      `INSERT INTO stream_checkpoint (consumer, stream, shard_id, sequence_number) VALUES ($1, $2, $3, $4)
       ON CONFLICT (consumer, stream, shard_id) DO UPDATE SET sequence_number = EXCLUDED.sequence_number, updated_at = now()
       WHERE stream_checkpoint.sequence_number::numeric < EXCLUDED.sequence_number::numeric`,
      consumer,
      stream,
      shardId,
      sequenceNumber,
    );
  },

  /** Every shard's cursor of a consumer on a stream. */
  async ofStream(db: SqlExecutor, consumer: string, stream: string): Promise<Map<string, string>> {
    const rows = await db.$queryRawUnsafe<Array<{ shard_id: string; sequence_number: string }>>(
      'SELECT shard_id, sequence_number FROM stream_checkpoint WHERE consumer = $1 AND stream = $2',
      consumer,
      stream,
    );
    return new Map(rows.map((row) => [row.shard_id, row.sequence_number]));
  },
};
