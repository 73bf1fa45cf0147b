import { brokerSettings, createServiceDatabase, HealthController, provideMessaging, providePrisma } from '@boxoffice/platform';
import { Module, type DynamicModule } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import type { AnalyticsConfig } from './analytics.config.js';
import { analyticsHandlers } from './analytics.handlers.js';
import { PrismaClient } from './generated/prisma/client.js';
import { ProjectionsHandler } from './projections/projections.handler.js';
import { StatsController } from './stats/stats.controller.js';
import { StatsService } from './stats/stats.service.js';

@Module({})
export class AnalyticsModule {
  static register(config: AnalyticsConfig): DynamicModule {
    return {
      module: AnalyticsModule,
      imports: [TerminusModule],
      controllers: [HealthController, StatsController],
      providers: [
        ...providePrisma(() =>
          createServiceDatabase(PrismaClient, config.DATABASE_URL, config.DATABASE_POOL_SIZE ?? config.KAFKA_CONCURRENCY + 5),
        ),
        ...provideMessaging({
          service: 'analytics',
          databaseUrl: config.DATABASE_URL,
          brokers: brokerSettings(config),
          concurrency: { [config.EVENT_TRANSPORT]: config.KAFKA_CONCURRENCY },
          batch: { maxMessages: config.BATCH_SIZE },
          handlers: analyticsHandlers,
        }),
        StatsService,
        ProjectionsHandler,
      ],
    };
  }
}
