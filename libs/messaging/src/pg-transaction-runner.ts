import type pg from 'pg';
import { inPgTransaction } from './pg-transaction.js';
import type { SqlExecutor, TransactionRunner } from './sql-client.js';

function executorOf(client: pg.Pool | pg.PoolClient): SqlExecutor {
  return {
    $executeRawUnsafe: async (query, ...values) => (await client.query(query, values)).rowCount ?? 0,
    $queryRawUnsafe: async <T>(query: string, ...values: unknown[]) => (await client.query(query, values)).rows as T,
  };
}

/**
 * A pg pool shaped like the part of a Prisma client that the outbox, the inbox and the pipeline
 * use, for code without a Prisma schema: the libs' own specs, and tools.
 */
export class PgTransactionRunner implements SqlExecutor, TransactionRunner<SqlExecutor> {
  private readonly direct: SqlExecutor;

  constructor(private readonly pool: pg.Pool) {
    this.direct = executorOf(pool);
  }

  $executeRawUnsafe(query: string, ...values: unknown[]): Promise<number> {
    return this.direct.$executeRawUnsafe(query, ...values);
  }

  $queryRawUnsafe<T = unknown>(query: string, ...values: unknown[]): Promise<T> {
    return this.direct.$queryRawUnsafe<T>(query, ...values);
  }

  $transaction<R>(work: (tx: SqlExecutor) => Promise<R>): Promise<R> {
    return inPgTransaction(this.pool, (client) => work(executorOf(client)));
  }
}
