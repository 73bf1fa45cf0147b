import { loadConfig } from '@boxoffice/config';
import { httpSecurity, runService, startService } from '@boxoffice/platform';
import { analyticsConfigSchema } from './analytics.config.js';
import { AnalyticsModule } from './analytics.module.js';

await runService(async () => {
  const config = loadConfig(analyticsConfigSchema);
  await startService({
    name: 'analytics',
    module: AnalyticsModule.register(config),
    host: config.HOST,
    port: config.PORT,
    databaseUrl: config.DATABASE_URL,
    migrationsDir: 'apps/analytics/prisma/migrations',
    shutdownTimeoutMs: config.SHUTDOWN_TIMEOUT_MS,
    logLevel: config.LOG_LEVEL,
    security: httpSecurity(config),
  });
});
