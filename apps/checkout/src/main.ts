import { loadConfig } from '@boxoffice/config';
import { runService, startService } from '@boxoffice/platform';
import { checkoutConfigSchema } from './checkout.config.js';
import { CheckoutModule } from './checkout.module.js';

await runService(async () => {
  const config = loadConfig(checkoutConfigSchema);
  await startService({
    name: 'checkout',
    module: CheckoutModule.register(config),
    host: config.HOST,
    port: config.PORT,
    databaseUrl: config.DATABASE_URL,
    migrationsDir: 'apps/checkout/prisma/migrations',
    shutdownTimeoutMs: config.SHUTDOWN_TIMEOUT_MS,
    logLevel: config.LOG_LEVEL,
  });
});
