import type pg from 'pg';
import { inPgTransaction } from './pg-transaction.js';
import type { SqlExecutor, TransactionRunner } from './sql-client.js';

export interface PgTransactionRunnerOptions {
  /**
   * A name for each SQL text, so that node-postgres prepares it once per connection instead of
   * PostgreSQL parsing and planning it on every execution; '' leaves a text unnamed. Without it,
   * nothing is named.
   */
  readonly nameOf?: (sql: string) => string;
}

/**
 * A node-postgres pool shaped like the part of a Prisma client that the outbox, the inbox and the
 * pipeline use. The services' consumers run their transactions on one: a Prisma interactive
 * transaction costs more CPU than the statements in it (libs/messaging/README.md, "Transactions").
 * Tools and the libs' own specs use it too.
 */
export class PgTransactionRunner implements SqlExecutor, TransactionRunner<SqlExecutor> {
  private readonly direct: SqlExecutor;

  constructor(
    private readonly pool: pg.Pool,
    private readonly options: PgTransactionRunnerOptions = {},
  ) {
    this.direct = this.executorOf(pool);
  }

  $executeRawUnsafe(query: string, ...values: unknown[]): Promise<number> {
    return this.direct.$executeRawUnsafe(query, ...values);
  }

  $queryRawUnsafe<T = unknown>(query: string, ...values: unknown[]): Promise<T> {
    return this.direct.$queryRawUnsafe<T>(query, ...values);
  }

  /**
   * `timeout`, as Prisma's: how long the work may take before the transaction fails, rolled back
   * (TransactionTimedOut). `maxWait` (for a connection) is the pool's business here: it is sized
   * for every batch the service handles at once.
   */
  $transaction<R>(work: (tx: SqlExecutor) => Promise<R>, options: { timeout?: number } = {}): Promise<R> {
    return inPgTransaction(this.pool, (client) => work(this.executorOf(client)), { timeoutMs: options.timeout });
  }

  private executorOf(client: pg.Pool | pg.PoolClient): SqlExecutor {
    const query = (text: string, values: unknown[]) => {
      const name = this.options.nameOf?.(text);
      return client.query(name ? { name, text, values } : { text, values });
    };
    return {
      $executeRawUnsafe: async (text, ...values) => (await query(text, values)).rowCount ?? 0,
      $queryRawUnsafe: async <T>(text: string, ...values: unknown[]) => (await query(text, values)).rows as T,
    };
  }
}
