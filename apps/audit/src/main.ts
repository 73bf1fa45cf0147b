import { loadConfig } from '@boxoffice/config';
import { httpSecurity, runService, startService } from '@boxoffice/platform';
import { auditConfigSchema, auditWriterUrl } from './audit.config.js';
import { AuditModule } from './audit.module.js';

await runService(async () => {
  const config = loadConfig(auditConfigSchema);
  await startService({
    name: 'audit',
    module: AuditModule.register(config),
    host: config.HOST,
    port: config.PORT,
    // Migrated as the tables' owner; run as a writer that cannot touch what the owner made.
    databaseUrl: config.DATABASE_URL,
    runtimeDatabaseUrl: auditWriterUrl(config),
    migrationsDir: 'apps/audit/prisma/migrations',
    shutdownTimeoutMs: config.SHUTDOWN_TIMEOUT_MS,
    logLevel: config.LOG_LEVEL,
    // The log holds customers' emails and sign-up addresses: for the operator only.
    security: httpSecurity(config, { adminRoutes: ['GET /audit*', 'POST /audit*'] }),
  });
});
