import { env, serviceEnv } from '@boxoffice/config';
import { z } from 'zod';

export const billingConfigSchema = z.object({
  ...serviceEnv('billing', 3001),
  /**
   * Charges per second, for the whole of Billing however many instances run: each instance
   * takes its share by the number of consumers RabbitMQ counts on the work queue.
   */
  BILLING_MAX_RATE: env.positiveInt(500),
  /** The token Checkout's synchronous path shows POST /charges (Authorization: Bearer); Checkout's BILLING_API_TOKEN. */
  BILLING_API_TOKEN: env.secret('BILLING_API_TOKEN'),
  /**
   * The synchronous door's own admission (SyncChargeAdmission), apart from the queue's: charges a
   * second through POST /charges in this instance, and calls waiting for one at most; past them,
   * 503 with Retry-After at once. The payment provider sees BILLING_MAX_RATE plus this at most.
   */
  BILLING_SYNC_MAX_RATE: env.positiveInt(100),
  BILLING_SYNC_MAX_WAITING: env.positiveInt(100),
  /** Batches of jobs in flight at once in this instance (channels on the work queue, each prefetching two batches). */
  BILLING_CONCURRENCY: env.positiveInt(2),
  /** The simulated payment provider: how long an authorization takes, and how many it declines. */
  PAYMENT_LATENCY_MS: env.nonNegativeNumber(10),
  PAYMENT_DECLINE_RATE: z.coerce.number().min(0).max(1).default(0.05),
  /**
   * The charge-by of a ChargeOrder that carries none (sent before the field existed), counted
   * from the command's occurredAt: Checkout's own default, its ORDER_PENDING_DEADLINE_MS less its
   * ORDER_CHARGE_MARGIN_MS.
   */
  CHARGE_DEADLINE_DEFAULT_MS: env.positiveInt(540_000),
  /**
   * How often ChargeSweeper carries out the payment provider's calls left to do (captures, voids,
   * refunds: each batch also asks for them at once after its commit) and declines the charges
   * that waited for their concert past their charge-by.
   */
  BILLING_SWEEP_INTERVAL_MS: env.positiveInt(1_000),
});

export type BillingConfig = z.infer<typeof billingConfigSchema>;
export const BILLING_CONFIG = Symbol('BILLING_CONFIG');
/** The clock charge deadlines and payment holds are read by (a Clock): the system's in a service, one of their own in tests. */
export const BILLING_CLOCK = Symbol('BILLING_CLOCK');
