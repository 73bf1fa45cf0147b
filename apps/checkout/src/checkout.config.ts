import { serviceEnv } from '@boxoffice/config';
import { z } from 'zod';

export const checkoutConfigSchema = z.object({
  ...serviceEnv('checkout', 3000),
});

export type CheckoutConfig = z.infer<typeof checkoutConfigSchema>;
