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
    // A connection killed while the transaction sits between statements is reported as an 'error'
    // event, not by a query; without a listener it would crash the process instead of failing
    // this transaction.
    let broken: Error | undefined;
    const onConnectionError = (error: Error) => (broken = error);
    client.on('error', onConnectionError);
    try {
      await client.query('BEGIN');
      const tx: SqlExecutor = {
        $executeRawUnsafe: async (query, ...values) => (await client.query(query, values)).rowCount ?? 0,
      };
      const result = await work(tx);
      await client.query('COMMIT');
      return result;
    } catch (error) {
      await client.query('ROLLBACK').catch((rollbackError: Error) => (broken = rollbackError));
      throw error;
    } finally {
      client.off('error', onConnectionError);
      client.release(broken);
    }
  }
}
