import { loadConfig } from '@boxoffice/config';
import { httpSecurity, runService, startService } from '@boxoffice/platform';
import { emailConfigSchema } from './email.config.js';
import { EmailModule } from './email.module.js';

await runService(async () => {
  const config = loadConfig(emailConfigSchema);
  await startService({
    name: 'email',
    module: EmailModule.register(config),
    host: config.HOST,
    port: config.PORT,
    databaseUrl: config.DATABASE_URL,
    migrationsDir: 'apps/email/prisma/migrations',
    shutdownTimeoutMs: config.SHUTDOWN_TIMEOUT_MS,
    logLevel: config.LOG_LEVEL,
    // Recipients, subjects and bodies, and the actions on parked mails: for the operator only.
    security: httpSecurity(config, { adminRoutes: ['GET /emails*', 'POST /emails*', 'DELETE /emails*'] }),
  });
});
