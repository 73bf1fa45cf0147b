import { brokerSettings, createServiceDatabase, HealthController, provideMessaging, providePrisma } from '@boxoffice/platform';
import { Module, type DynamicModule } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { auditWriterUrl, type AuditConfig } from './audit.config.js';
import { auditHandlers } from './audit.handlers.js';
import { PrismaClient } from './generated/prisma/client.js';
import { AuditController } from './trail/audit.controller.js';
import { AuditLog } from './trail/audit-log.js';
import { EventRecordedHandler } from './trail/event-recorded.handler.js';

@Module({})
export class AuditModule {
  static register(config: AuditConfig): DynamicModule {
    return {
      module: AuditModule,
      imports: [TerminusModule],
      controllers: [HealthController, AuditController],
      providers: [
        ...providePrisma(() =>
          createServiceDatabase(PrismaClient, auditWriterUrl(config), config.DATABASE_POOL_SIZE ?? config.KAFKA_CONCURRENCY + 5),
        ),
        ...provideMessaging({
          service: 'audit',
          databaseUrl: auditWriterUrl(config),
          brokers: brokerSettings(config),
          concurrency: { [config.EVENT_TRANSPORT]: config.KAFKA_CONCURRENCY },
          batch: { maxMessages: config.BATCH_SIZE },
          handlers: auditHandlers,
        }),
        AuditLog,
        EventRecordedHandler,
      ],
    };
  }
}
