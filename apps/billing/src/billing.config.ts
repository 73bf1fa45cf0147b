import { serviceEnv } from '@boxoffice/config';
import { z } from 'zod';

export const billingConfigSchema = z.object({
  ...serviceEnv('billing', 3001),
});

export type BillingConfig = z.infer<typeof billingConfigSchema>;
