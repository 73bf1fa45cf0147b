import type { SqlExecutor } from '@boxoffice/messaging';
import type { PrismaClient } from './generated/prisma/client.js';

export type { PrismaClient };
/**
 * The transaction a handler runs in, and what code shared with the handlers takes: SQL only. The
 * consumers' transactions are node-postgres ones, not Prisma's (libs/messaging/README.md,
 * "Transactions"); a Prisma transaction client fits it too.
 */
export type Tx = SqlExecutor;

/**
 * A unique constraint violated: PostgreSQL's 23505 from node-postgres (SQL), Prisma's P2002 from a
 * model method, or from a raw statement its P2010 carrying the 23505.
 */
export const isUniqueViolation = (error: unknown): boolean => {
  const { code, meta } = (error ?? {}) as { code?: string; meta?: { driverAdapterError?: { cause?: { originalCode?: string } } } };
  return code === '23505' || code === 'P2002' || (code === 'P2010' && meta?.driverAdapterError?.cause?.originalCode === '23505');
};
