import type { OrderConfirmed, OrderRejected, PayloadOf } from '@boxoffice/contracts';
import { Injectable } from '@nestjs/common';
import type { Tx } from '../database.js';

/**
 * Tickets, revenue and outcomes per day and per concert. Each method adds one event to the
 * counters with upserts; the day's row is always written before the concert's, so two
 * transactions never wait on each other in opposite orders.
 */
@Injectable()
export class SalesProjection {
  async confirmed(tx: Tx, day: string, order: PayloadOf<typeof OrderConfirmed>): Promise<void> {
    await tx.$executeRaw`
      INSERT INTO daily_sales (day, tickets, revenue_cents, confirmed) VALUES (${day}::date, ${order.quantity}, ${order.amountCents}, 1)
      ON CONFLICT (day) DO UPDATE SET tickets = daily_sales.tickets + EXCLUDED.tickets,
        revenue_cents = daily_sales.revenue_cents + EXCLUDED.revenue_cents, confirmed = daily_sales.confirmed + 1`;
    await tx.$executeRaw`
      INSERT INTO concert_sales (concert_id, concert_name, tickets, revenue_cents, confirmed)
      VALUES (${order.concertId}::uuid, ${order.concertName}, ${order.quantity}, ${order.amountCents}, 1)
      ON CONFLICT (concert_id) DO UPDATE SET tickets = concert_sales.tickets + EXCLUDED.tickets,
        revenue_cents = concert_sales.revenue_cents + EXCLUDED.revenue_cents, confirmed = concert_sales.confirmed + 1`;
  }

  async rejected(tx: Tx, day: string, order: PayloadOf<typeof OrderRejected>): Promise<void> {
    await tx.$executeRaw`
      INSERT INTO daily_sales (day, rejected) VALUES (${day}::date, 1)
      ON CONFLICT (day) DO UPDATE SET rejected = daily_sales.rejected + 1`;
    await tx.$executeRaw`
      INSERT INTO concert_sales (concert_id, concert_name, rejected) VALUES (${order.concertId}::uuid, ${order.concertName}, 1)
      ON CONFLICT (concert_id) DO UPDATE SET rejected = concert_sales.rejected + 1`;
  }

  /** A declined payment; the order it belongs to also arrives as OrderRejected, so this is a share of `rejected`. */
  async declined(tx: Tx, day: string): Promise<void> {
    await tx.$executeRaw`
      INSERT INTO daily_sales (day, declined) VALUES (${day}::date, 1)
      ON CONFLICT (day) DO UPDATE SET declined = daily_sales.declined + 1`;
  }
}
