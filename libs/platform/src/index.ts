export { HealthController } from './health.controller.js';
export { READINESS_CHECKS, type ReadinessCheck, type ReadinessPart } from './readiness-check.js';
export { createPrismaClient } from './prisma-client.factory.js';
export { runService, startService, type ServiceOptions } from './service.bootstrap.js';
export { databaseReadiness, PRISMA, PrismaLifecycle, providePrisma } from './prisma.provider.js';
export { ZodValidationPipe, type FieldError } from './zod-validation.pipe.js';
export { MessagingRuntime, type MessagingRuntimeOptions } from './messaging.runtime.js';
export { brokerSettings, type BrokerConfig, type BrokerSettings } from './broker.settings.js';
export { provideMessaging, type MessagingProviderOptions } from './messaging.providers.js';
