import { env, serviceEnv } from '@boxoffice/config';
import { z } from 'zod';

export const checkoutConfigSchema = z.object({
  ...serviceEnv('checkout', 3000),
  /** Required by POST /concerts in the `x-admin-key` header. The default suits a local demo only. */
  ADMIN_API_KEY: z.string().min(8).default('local-admin-key'),
  /** Billing's HTTP API, called only by the deliberately synchronous POST /orders/sync. */
  BILLING_URL: env.url(['http:', 'https:'], 'http://127.0.0.1:3001'),
  SYNC_TIMEOUT_MS: env.positiveInt(2_000),
});

export type CheckoutConfig = z.infer<typeof checkoutConfigSchema>;
export const CHECKOUT_CONFIG = Symbol('CHECKOUT_CONFIG');
