import { createPrismaClient, databaseReadiness, HealthController, PRISMA, providePrisma, READINESS_CHECKS } from '@boxoffice/platform';
import { Module, type DynamicModule } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import type { BillingConfig } from './billing.config.js';
import { PrismaClient } from './generated/prisma/client.js';

@Module({})
export class BillingModule {
  static register(config: BillingConfig): DynamicModule {
    return {
      module: BillingModule,
      imports: [TerminusModule],
      controllers: [HealthController],
      providers: [
        ...providePrisma(() => createPrismaClient(PrismaClient, config.DATABASE_URL)),
        { provide: READINESS_CHECKS, useFactory: (prisma: PrismaClient) => [databaseReadiness(prisma)], inject: [PRISMA] },
      ],
    };
  }
}
