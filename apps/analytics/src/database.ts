import type { PrismaClient, Prisma } from './generated/prisma/client.js';

export type { PrismaClient };
export type Tx = Prisma.TransactionClient;

/**
 * The UTC day an event happened on. Projections count by the event's own time, never by the
 * time it was processed, so that replaying the log gives the same numbers on any day.
 */
export function dayOf(occurredAt: string): string {
  return new Date(occurredAt).toISOString().slice(0, 10);
}
