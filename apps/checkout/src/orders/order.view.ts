import type { Order } from '../generated/prisma/client.js';
import type { PlaceInLine } from '../waiting-room/waiting-line.js';

/**
 * What a client sees of an order: its status to poll until it is CONFIRMED or REJECTED, which it
 * is by pendingUntil; while it waits in line, its place (position, estimatedWaitSeconds); and
 * where to follow it live (eventsUrl, Server-Sent Events) or watch it (pageUrl).
 */
export function orderView(order: Order, place?: PlaceInLine) {
  return {
    orderId: order.id,
    status: order.status,
    reason: order.rejectionReason,
    ...(order.status === 'PENDING' && place ? place : {}),
    concertId: order.concertId,
    quantity: order.quantity,
    amountCents: order.amountCents,
    createdAt: order.createdAt.toISOString(),
    updatedAt: order.updatedAt.toISOString(),
    settledAt: order.settledAt?.toISOString() ?? null,
    pendingUntil: order.pendingUntil.toISOString(),
    statusUrl: `/orders/${order.id}`,
    eventsUrl: `/orders/${order.id}/events`,
    pageUrl: `/orders/${order.id}/page`,
  };
}
