import { env, serviceEnv } from '@boxoffice/config';
import { z } from 'zod';

export const billingConfigSchema = z.object({
  ...serviceEnv('billing', 3001),
  /** ChargeOrder jobs started per second by this instance (so N instances take at most N x this). */
  BILLING_MAX_RATE: env.positiveInt(500),
  /** Jobs in flight at once in this instance; also the RabbitMQ prefetch. */
  BILLING_CONCURRENCY: env.positiveInt(16),
  /** The simulated payment provider: how long an authorization takes, and how many it declines. */
  PAYMENT_LATENCY_MS: env.nonNegativeNumber(10),
  PAYMENT_DECLINE_RATE: z.coerce.number().min(0).max(1).default(0.05),
});

export type BillingConfig = z.infer<typeof billingConfigSchema>;
export const BILLING_CONFIG = Symbol('BILLING_CONFIG');
