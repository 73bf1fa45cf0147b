import { env, serviceEnv } from '@boxoffice/config';
import { z } from 'zod';

export const billingConfigSchema = z.object({
  ...serviceEnv('billing', 3001),
  /**
   * Charges per second, for the whole of Billing however many instances run: each instance
   * takes its share by the number of consumers RabbitMQ counts on the work queue.
   */
  BILLING_MAX_RATE: env.positiveInt(500),
  /** Batches of jobs in flight at once in this instance (channels on the work queue, each prefetching two batches). */
  BILLING_CONCURRENCY: env.positiveInt(2),
  /** The simulated payment provider: how long an authorization takes, and how many it declines. */
  PAYMENT_LATENCY_MS: env.nonNegativeNumber(10),
  PAYMENT_DECLINE_RATE: z.coerce.number().min(0).max(1).default(0.05),
});

export type BillingConfig = z.infer<typeof billingConfigSchema>;
export const BILLING_CONFIG = Symbol('BILLING_CONFIG');
