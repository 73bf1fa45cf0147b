import { env, serviceEnv } from '@boxoffice/config';
import { z } from 'zod';

export const checkoutConfigSchema = z.object({
  ...serviceEnv('checkout', 3000),
  /** Required by POST /concerts in the `x-admin-key` header. The default suits a local demo only. */
  ADMIN_API_KEY: z.string().min(8).default('local-admin-key'),
  /**
   * POST /orders and POST /users in flight at once; beyond, 503 with Retry-After at once
   * (FrontDoor). An admitted request waits about this many divided by the accept rate (some
   * 400/s on a laptop): 500 keeps it near a second, and leaves the group commit batches of a few
   * hundred rows.
   */
  ACCEPT_MAX_IN_FLIGHT: env.positiveInt(500),
  /**
   * How late Checkout's event loop may run (its mean over 100 ms, three windows in a row) before
   * POST /orders and POST /users are turned away with 503; 0, the default, turns this off. On a
   * host of its own a loop that runs late means Checkout is out of CPU, and 20 sheds a flood
   * before the kernel's listen queue overflows (docs/patterns/load-levelling.md has the figures).
   * On a host it shares with its database and the other services, as `npm start` and the tests
   * run it, a late loop mostly means a neighbour took the CPU, and turning buyers away then helps
   * nobody: ACCEPT_MAX_IN_FLIGHT alone bounds the work there.
   */
  ACCEPT_MAX_EVENT_LOOP_DELAY_MS: z.coerce.number().int().nonnegative().default(0),
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
