import { serviceEnv } from '@boxoffice/config';
import { z } from 'zod';

export const auditConfigSchema = z.object({
  ...serviceEnv('audit', 3004),
});

export type AuditConfig = z.infer<typeof auditConfigSchema>;
