export { HealthController } from './health.controller.js';
export { READINESS_CHECKS, type ReadinessCheck, type ReadinessPart } from './readiness-check.js';
export { createPrismaClient, createServiceDatabase, type ServiceDatabase } from './prisma-client.factory.js';
export { runService, startService, type ServiceOptions } from './service.bootstrap.js';
export { ShutdownBudget, shutdownPhases, type ShutdownPhase } from './shutdown.budget.js';
export { databaseReadiness, PRISMA, PrismaLifecycle, providePrisma, SQL, type Sql } from './prisma.provider.js';
export { ZodValidationPipe, type FieldError } from './zod-validation.pipe.js';
export { isDatabaseUnavailable, RetryLaterException, RetryLaterFilter } from './retry-later.js';
export {
  createTransports,
  deadLetterStoresOf,
  MessagingRuntime,
  type ConsumerView,
  type MessagingRuntimeOptions,
} from './messaging.runtime.js';
export { MessagingLifecycle } from './messaging.lifecycle.js';
export { InboxPruning } from './inbox.pruning.js';
export { messagingReadiness } from './messaging.readiness.js';
export { brokerSettings, type BrokerConfig, type BrokerSettings } from './broker.settings.js';
export { provideMessaging, type MessagingProviderOptions } from './messaging.providers.js';
export { connectWithin, createTransport, type TransportSetup } from './transport.factory.js';
export { MetricsRegistry } from './metrics.registry.js';
export { metricLabels, metricNames, type MetricName } from './metrics.names.js';
export { MessagingInstruments, type ConsumerLabels } from './metrics.instruments.js';
export { MessagingGauges, type GaugeSources } from './metrics.gauges.js';
export { AccessGate, sameSecret, type AccessRule, type Credential } from './access.gate.js';
export { httpSecurity, pageSecurityPolicy, type HttpSecurity } from './http.security.js';
