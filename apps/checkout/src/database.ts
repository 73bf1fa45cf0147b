import type { PrismaClient, Prisma } from './generated/prisma/client.js';

export type { PrismaClient };
export type Tx = Prisma.TransactionClient;

/** Prisma's error code for a unique constraint violation. */
export const isUniqueViolation = (error: unknown): boolean => (error as { code?: string } | null)?.code === 'P2002';
