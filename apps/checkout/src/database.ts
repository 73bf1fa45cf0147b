import type { PrismaClient, Prisma } from './generated/prisma/client.js';

export type { PrismaClient };
export type Tx = Prisma.TransactionClient;

/**
 * A unique constraint violated: Prisma's P2002 from a model method, or from a raw statement its
 * P2010 carrying PostgreSQL's 23505.
 */
export const isUniqueViolation = (error: unknown): boolean => {
  const { code, meta } = (error ?? {}) as { code?: string; meta?: { driverAdapterError?: { cause?: { originalCode?: string } } } };
  return code === 'P2002' || (code === 'P2010' && meta?.driverAdapterError?.cause?.originalCode === '23505');
};
