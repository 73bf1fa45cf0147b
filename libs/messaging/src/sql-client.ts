/**
 * The little the outbox, the inbox and the consumer pipeline need from a database client. A
 * Prisma client and a Prisma interactive-transaction client both fit, so a service passes the
 * `tx` of its own business transaction and the message is written, or not, together with it.
 */
export interface SqlExecutor {
  $executeRawUnsafe(query: string, ...values: unknown[]): Promise<number>;
  $queryRawUnsafe<T = unknown>(query: string, ...values: unknown[]): Promise<T>;
}

export interface TransactionRunner<Tx extends SqlExecutor> {
  $transaction<R>(work: (tx: Tx) => Promise<R>, options?: { timeout?: number; maxWait?: number }): Promise<R>;
}
