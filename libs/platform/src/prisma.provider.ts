import type { SqlExecutor, TransactionRunner } from '@boxoffice/messaging';
import { Inject, Injectable, Logger, Optional, type OnApplicationShutdown, type Provider } from '@nestjs/common';
import type { ReadinessCheck } from './readiness-check.js';
import { ShutdownBudget } from './shutdown.budget.js';

/** The injection token of a service's Prisma client: `@Inject(PRISMA) db: PrismaClient`. */
export const PRISMA = Symbol('PRISMA');
/**
 * The injection token of a service's node-postgres, on the same pool as its Prisma client, for the
 * SQL of its hot paths: `@Inject(SQL) sql: Sql` (ServiceDatabase).
 */
export const SQL = Symbol('SQL');
/** What `@Inject(SQL)` gives: statements, and transactions of them. */
export type Sql = SqlExecutor & TransactionRunner<SqlExecutor>;

interface Disconnectable {
  $disconnect(): Promise<void>;
  $queryRawUnsafe(query: string): Promise<unknown>;
}

/** The injection token of the service's ServiceDatabase as a whole: what PrismaLifecycle closes. */
const DATABASE = Symbol('DATABASE');

/** What providePrisma is given: createServiceDatabase's answer. */
interface Database {
  readonly prisma: Disconnectable;
  readonly sql: Sql;
  close(): Promise<void>;
}

/**
 * Closes the database pool (Prisma's and SQL's, one pool) last: after consumers and the outbox
 * relay have stopped and the HTTP server has closed (Nest closes it before the shutdown hooks), by
 * the budget's `database` phase. A connection still held past it (work the shutdown abandoned
 * earlier, a request that outlived the server's close) is left to the exit, not waited for.
 */
@Injectable()
export class PrismaLifecycle implements OnApplicationShutdown {
  private readonly logger = new Logger('database');

  constructor(
    @Inject(DATABASE) private readonly database: Database,
    @Optional() private readonly budget: ShutdownBudget = ShutdownBudget.unbounded(),
  ) {}

  async onApplicationShutdown(): Promise<void> {
    if (!(await this.budget.within('database', this.database.close())))
      this.logger.warn(
        'shutdown: the database pool was still closing when its time was up (a connection is still in use); the exit ends it',
      );
  }
}

/** The service's database (createServiceDatabase): PRISMA and SQL, on one pool, closed last. */
export function providePrisma(create: () => Database): Provider[] {
  return [
    { provide: DATABASE, useFactory: create },
    { provide: PRISMA, useFactory: (database: Database) => database.prisma, inject: [DATABASE] },
    { provide: SQL, useFactory: (database: Database) => database.sql, inject: [DATABASE] },
    PrismaLifecycle,
  ];
}

/** The one check accepting work waits for: the outbox makes the database the only dependency of a 202. */
export function databaseReadiness(prisma: Disconnectable): ReadinessCheck {
  return { name: 'database', part: 'accepting', check: async () => void (await prisma.$queryRawUnsafe('SELECT 1')) };
}
