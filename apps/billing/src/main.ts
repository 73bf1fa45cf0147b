import { loadConfig } from '@boxoffice/config';
import { httpSecurity, runService, startService } from '@boxoffice/platform';
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
    // A charge over HTTP is Checkout's synchronous path, and no one else's.
    security: httpSecurity(config, {
      rules: [{ routes: ['POST /charges'], credential: { name: "Checkout's service token", secret: config.BILLING_API_TOKEN } }],
    }),
  });
});
