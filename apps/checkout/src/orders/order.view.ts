import type { Order } from '../generated/prisma/client.js';

/** What a client sees of an order: its status to poll until it is CONFIRMED or REJECTED, which it is by pendingUntil. */
export function orderView(order: Order) {
  return {
    orderId: order.id,
    status: order.status,
    reason: order.rejectionReason,
    concertId: order.concertId,
    quantity: order.quantity,
    amountCents: order.amountCents,
    createdAt: order.createdAt.toISOString(),
    updatedAt: order.updatedAt.toISOString(),
    settledAt: order.settledAt?.toISOString() ?? null,
    pendingUntil: order.pendingUntil.toISOString(),
    statusUrl: `/orders/${order.id}`,
  };
}
