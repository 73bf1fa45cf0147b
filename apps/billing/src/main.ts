import { loadConfig } from '@boxoffice/config';
import { runService, startService } from '@boxoffice/platform';
import { billingConfigSchema } from './billing.config.js';
import { BillingModule } from './billing.module.js';

await runService(async () => {
  const config = loadConfig(billingConfigSchema);
  await startService({
    name: 'billing',
    module: BillingModule.register(config),
    host: config.HOST,
    port: config.PORT,
    databaseUrl: config.DATABASE_URL,
    migrationsDir: 'apps/billing/prisma/migrations',
    shutdownTimeoutMs: config.SHUTDOWN_TIMEOUT_MS,
    logLevel: config.LOG_LEVEL,
  });
});
