import { createPrismaClient, databaseReadiness, HealthController, PRISMA, providePrisma, READINESS_CHECKS } from '@boxoffice/platform';
import { Module, type DynamicModule } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import type { CheckoutConfig } from './checkout.config.js';
import { PrismaClient } from './generated/prisma/client.js';

@Module({})
export class CheckoutModule {
  static register(config: CheckoutConfig): DynamicModule {
    return {
      module: CheckoutModule,
      imports: [TerminusModule],
      controllers: [HealthController],
      providers: [
        ...providePrisma(() => createPrismaClient(PrismaClient, config.DATABASE_URL)),
        { provide: READINESS_CHECKS, useFactory: (prisma: PrismaClient) => [databaseReadiness(prisma)], inject: [PRISMA] },
      ],
    };
  }
}
