import { Inject, Injectable, type OnApplicationShutdown, type Provider } from '@nestjs/common';
import type { ReadinessCheck } from './readiness-check.js';

/** The injection token of a service's Prisma client: `@Inject(PRISMA) db: PrismaClient`. */
export const PRISMA = Symbol('PRISMA');

interface Disconnectable {
  $disconnect(): Promise<void>;
  $queryRawUnsafe(query: string): Promise<unknown>;
}

/** Closes the database pool last, after consumers and the outbox relay have stopped. */
@Injectable()
export class PrismaLifecycle implements OnApplicationShutdown {
  constructor(@Inject(PRISMA) private readonly prisma: Disconnectable) {}

  async onApplicationShutdown(): Promise<void> {
    await this.prisma.$disconnect();
  }
}

export function providePrisma(create: () => Disconnectable): Provider[] {
  return [{ provide: PRISMA, useFactory: create }, PrismaLifecycle];
}

/** The one check accepting work waits for: the outbox makes the database the only dependency of a 202. */
export function databaseReadiness(prisma: Disconnectable): ReadinessCheck {
  return { name: 'database', part: 'accepting', check: async () => void (await prisma.$queryRawUnsafe('SELECT 1')) };
}
