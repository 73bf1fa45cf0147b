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
 * The UTC day an event happened on. Projections count by the event's own time, never by the
 * time it was processed, so that replaying the log gives the same numbers on any day.
 */
export function dayOf(occurredAt: string): string {
  return new Date(occurredAt).toISOString().slice(0, 10);
}
