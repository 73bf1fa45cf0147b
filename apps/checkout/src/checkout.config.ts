import { env, serviceEnv } from '@boxoffice/config';
import { z } from 'zod';

export const checkoutConfigSchema = z.object({
  ...serviceEnv('checkout', 3000),
  /** Required by POST /concerts in the `x-admin-key` header. The default suits a local demo only. */
  ADMIN_API_KEY: z.string().min(8).default('local-admin-key'),
  /** Billing's HTTP API, called only by the deliberately synchronous POST /orders/sync. */
  BILLING_URL: env.url(['http:', 'https:'], 'http://127.0.0.1:3001'),
  /** The deadline of a whole POST /orders/sync, from the moment it arrives: queueing, Billing's answer and the write. */
  SYNC_TIMEOUT_MS: env.positiveInt(2_000),
  /**
   * `off` takes the fail-fast policies (bulkhead, whole-request deadline, circuit breaker) away
   * and leaves only a timeout on the call to Billing, as the synchronous path had at first: kept
   * so that bench:ticket-sale can show the two side by side. Leave it `on`.
   */
  SYNC_POLICIES: z.enum(['on', 'off']).default('on'),
  /**
   * Synchronous purchases in flight at once. 20 is Checkout's database pool: each one ends with a
   * transaction, so more would only wait for a connection, and take them from POST /orders.
   */
  SYNC_BULKHEAD_SIZE: env.positiveInt(20),
  /**
   * Purchases waiting for one of those slots; past them, 503 at once. 40 is two calls' worth per
   * slot: at Billing's usual ~100 ms a queued buyer waits about 200 ms, a tenth of the deadline.
   */
  SYNC_BULKHEAD_QUEUE: z.coerce.number().int().nonnegative().default(40),
  /** Billing failures in a row (5xx, unreachable, no answer by the deadline) that open the circuit. */
  SYNC_BREAKER_FAILURES: env.positiveInt(5),
  /** How long an open circuit answers 503 before it lets one probe through to Billing. */
  SYNC_BREAKER_HALF_OPEN_MS: env.positiveInt(5_000),
});

export type CheckoutConfig = z.infer<typeof checkoutConfigSchema>;
export const CHECKOUT_CONFIG = Symbol('CHECKOUT_CONFIG');
