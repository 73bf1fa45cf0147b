import { serviceEnv } from '@boxoffice/config';
import { z } from 'zod';

export const analyticsConfigSchema = z.object({
  ...serviceEnv('analytics', 3003),
});

export type AnalyticsConfig = z.infer<typeof analyticsConfigSchema>;
