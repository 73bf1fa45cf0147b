import type pg from 'pg';
import { inPgTransaction } from './pg-transaction.js';
import type { SqlExecutor } from './sql-client.js';

/**
 * A pg pool shaped like the part of a Prisma client that the outbox and inbox use (structurally
 * their `TransactionRunner`), for code without a Prisma schema: the libs' own specs, and tools.
 */
export class PgTransactionRunner implements SqlExecutor {
  constructor(private readonly pool: pg.Pool) {}

  async $executeRawUnsafe(query: string, ...values: unknown[]): Promise<number> {
    return (await this.pool.query(query, values)).rowCount ?? 0;
  }

  $transaction<R>(work: (tx: SqlExecutor) => Promise<R>): Promise<R> {
    return inPgTransaction(this.pool, (client) =>
      work({ $executeRawUnsafe: async (query, ...values) => (await client.query(query, values)).rowCount ?? 0 }),
    );
  }
}
