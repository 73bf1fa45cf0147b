import type pg from 'pg';

interface SqlExecutor {
  $executeRawUnsafe(query: string, ...values: unknown[]): Promise<number>;
}

/**
 * A pg pool shaped like the part of a Prisma client that the outbox and inbox use (structurally
 * their `TransactionRunner`), so the libs test against the real database without a Prisma schema.
 */
export class PgTransactionRunner implements SqlExecutor {
  constructor(private readonly pool: pg.Pool) {}

  async $executeRawUnsafe(query: string, ...values: unknown[]): Promise<number> {
    return (await this.pool.query(query, values)).rowCount ?? 0;
  }

  async $transaction<R>(work: (tx: SqlExecutor) => Promise<R>): Promise<R> {
    const client = await this.pool.connect();
    try {
      await client.query('BEGIN');
      const tx: SqlExecutor = {
        $executeRawUnsafe: async (query, ...values) => (await client.query(query, values)).rowCount ?? 0,
      };
      const result = await work(tx);
      await client.query('COMMIT');
      return result;
    } catch (error) {
      await client.query('ROLLBACK');
      throw error;
    } finally {
      client.release();
    }
  }
}
