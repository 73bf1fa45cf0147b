import { serviceEnv } from '@boxoffice/config';
import { z } from 'zod';

export const emailConfigSchema = z.object({
  ...serviceEnv('email', 3002),
});

export type EmailConfig = z.infer<typeof emailConfigSchema>;
