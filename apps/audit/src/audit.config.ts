import { env, serviceEnv } from '@boxoffice/config';
import { z } from 'zod';

export const auditConfigSchema = z.object({
  ...serviceEnv('audit', 3004),
  /**
   * Kafka partitions this instance handles at once; within a partition, events are handled one
   * after the other, in order. More than the partitions it owns buys nothing.
   */
  KAFKA_CONCURRENCY: env.positiveInt(3),
});

export type AuditConfig = z.infer<typeof auditConfigSchema>;
