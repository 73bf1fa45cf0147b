import type { SqlExecutor } from '@boxoffice/messaging';
import type { PrismaClient } from './generated/prisma/client.js';

export type { PrismaClient };
/**
 * The transaction a handler runs in, and what code shared with the handlers takes: SQL only. The
 * consumers' transactions are node-postgres ones, not Prisma's (libs/messaging/README.md,
 * "Transactions"); a Prisma transaction client fits it too.
 */
export type Tx = SqlExecutor;
