import type { Order } from '../generated/prisma/client.js';

/**
 * An order's columns as the Prisma model names them, for the hot reads that go through
 * node-postgres (a poll of GET /orders/:id, an Idempotency-Key's repeat): `SELECT ${ORDER_COLUMNS}
 * FROM "order" ...`, each row then `orderOf`.
 */
export const ORDER_COLUMNS = `id::text AS "id", concert_id::text AS "concertId", quantity, customer_email AS "customerEmail",
  amount_cents AS "amountCents", status::text AS "status", rejection_reason::text AS "rejectionReason",
  idempotency_key AS "idempotencyKey", request_hash AS "requestHash", created_at AS "createdAt", updated_at AS "updatedAt",
  settled_at AS "settledAt", decided_at AS "decidedAt", pending_until AS "pendingUntil", line_number::text AS "lineNumber"`;

/** A row of ORDER_COLUMNS as the model's Order: node-postgres gives a bigint as text. */
export function orderOf(row: Omit<Order, 'lineNumber'> & { lineNumber: string | null }): Order {
  return { ...row, lineNumber: row.lineNumber === null ? null : BigInt(row.lineNumber) };
}

/** The rows of ORDER_COLUMNS a query returned. */
export type OrderRow = Parameters<typeof orderOf>[0];
