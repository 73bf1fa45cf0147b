import { env, serviceEnv } from '@boxoffice/config';
import { z } from 'zod';

export const analyticsConfigSchema = z.object({
  ...serviceEnv('analytics', 3003),
  /**
   * Kafka partitions this instance handles at once; within a partition, events are handled one
   * after the other, in order. More than the partitions it owns buys nothing.
   */
  KAFKA_CONCURRENCY: env.positiveInt(3),
  /**
   * Events a batch holds at most; a batch closes sooner once 5 ms pass without it filling. Each
   * batch is folded in memory and added with one upsert per table (projection.store.ts), so under
   * a backlog the larger the batch, the fewer turns at the day's row every partition adds to:
   * bench:fanout, 50,000 events, went from 5,264–7,648 to 13,079–14,376 a second at 1,000
   * against the runtime's default of 100.
   */
  BATCH_SIZE: env.positiveInt(1_000),
});

export type AnalyticsConfig = z.infer<typeof analyticsConfigSchema>;
