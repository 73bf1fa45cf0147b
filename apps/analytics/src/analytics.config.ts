import { env, serviceEnv } from '@boxoffice/config';
import { z } from 'zod';

export const analyticsConfigSchema = z.object({
  ...serviceEnv('analytics', 3003),
  /**
   * Kafka partitions this instance handles at once; within a partition, events are handled one
   * after the other, in order. More than the partitions it owns buys nothing.
   */
  KAFKA_CONCURRENCY: env.positiveInt(3),
});

export type AnalyticsConfig = z.infer<typeof analyticsConfigSchema>;
