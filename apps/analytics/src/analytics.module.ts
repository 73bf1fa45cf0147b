import { createPrismaClient, HealthController, provideMessaging, providePrisma } from '@boxoffice/platform';
import { Module, type DynamicModule } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import type { AnalyticsConfig } from './analytics.config.js';
import { analyticsSubscriptions } from './analytics.subscriptions.js';
import { PrismaClient } from './generated/prisma/client.js';
import { OrderSettledHandler } from './projections/order-settled.handler.js';
import { PaymentDeclinedHandler } from './projections/payment-declined.handler.js';
import { SalesProjection } from './projections/sales.projection.js';
import { SignupsProjection } from './projections/signups.projection.js';
import { UserRegisteredHandler } from './projections/user-registered.handler.js';
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
        ...providePrisma(() => createPrismaClient(PrismaClient, config.DATABASE_URL, config.DATABASE_POOL_SIZE ?? config.KAFKA_CONCURRENCY + 5)),
        ...provideMessaging({
          service: 'analytics',
          databaseUrl: config.DATABASE_URL,
          rabbitmqUrl: config.RABBITMQ_URL,
          kafkaBrokers: config.KAFKA_BROKERS,
          kafka: { partitionsConsumedConcurrently: config.KAFKA_CONCURRENCY },
          handlers: [UserRegisteredHandler, OrderSettledHandler, PaymentDeclinedHandler],
          subscriptions: analyticsSubscriptions,
        }),
        SignupsProjection,
        SalesProjection,
        StatsService,
        UserRegisteredHandler,
        OrderSettledHandler,
        PaymentDeclinedHandler,
      ],
    };
  }
}
