import { OrderConfirmed, OrderRejected, PaymentDeclined, UserRegistered, type Envelope, type PayloadOf } from '@boxoffice/contracts';
import { dayOf } from '../database.js';

interface SalesDay {
  tickets: number;
  revenueCents: number;
  confirmed: number;
  rejected: number;
  declined: number;
}

interface ConcertSales {
  concertName: string;
  tickets: number;
  revenueCents: number;
  confirmed: number;
  rejected: number;
}

/** The events Analytics counts. */
export const projectedEvents = [UserRegistered, OrderConfirmed, OrderRejected, PaymentDeclined] as const;

/**
 * Analytics' numbers as a fold over events: each event adds to a day's or a concert's counters,
 * by the day the event happened (never the day it is processed, so a replay gives the same
 * numbers on any day). Folding is pure and in memory: the live consumer folds a batch and adds
 * it with one upsert per table (projection.store.ts), and a rebuild folds the whole log and
 * writes it once.
 */
export class ProjectionFold {
  readonly signups = new Map<string, number>();
  readonly sales = new Map<string, SalesDay>();
  readonly concerts = new Map<string, ConcertSales>();

  add(event: Envelope): void {
    const day = dayOf(event.occurredAt);
    switch (event.type) {
      case UserRegistered.type:
        this.signups.set(day, (this.signups.get(day) ?? 0) + 1);
        return;
      case OrderConfirmed.type: {
        const order = event.payload as PayloadOf<typeof OrderConfirmed>;
        this.salesDay(day, { tickets: order.quantity, revenueCents: order.amountCents, confirmed: 1 });
        this.concert(order.concertId, order.concertName, { tickets: order.quantity, revenueCents: order.amountCents, confirmed: 1 });
        return;
      }
      case OrderRejected.type: {
        const order = event.payload as PayloadOf<typeof OrderRejected>;
        this.salesDay(day, { rejected: 1 });
        this.concert(order.concertId, order.concertName, { rejected: 1 });
        return;
      }
      case PaymentDeclined.type:
        // The order it belongs to also arrives as OrderRejected, so this is a share of `rejected`.
        this.salesDay(day, { declined: 1 });
        return;
    }
  }

  get isEmpty(): boolean {
    return this.signups.size === 0 && this.sales.size === 0 && this.concerts.size === 0;
  }

  /** Rows in key order: two writers upserting overlapping rows then lock them in the same order. */
  rows() {
    const sorted = <V>(map: Map<string, V>) => [...map].sort(([a], [b]) => a.localeCompare(b));
    return {
      signups: sorted(this.signups).map(([day, signups]) => ({ day, signups })),
      sales: sorted(this.sales).map(([day, sales]) => ({ day, ...sales })),
      concerts: sorted(this.concerts).map(([concertId, sales]) => ({ concertId, ...sales })),
    };
  }

  private salesDay(day: string, add: Partial<SalesDay>): void {
    const row = this.sales.get(day) ?? { tickets: 0, revenueCents: 0, confirmed: 0, rejected: 0, declined: 0 };
    for (const [field, value] of Object.entries(add) as Array<[keyof SalesDay, number]>) row[field] += value;
    this.sales.set(day, row);
  }

  private concert(concertId: string, concertName: string, add: Partial<Omit<ConcertSales, 'concertName'>>): void {
    const row = this.concerts.get(concertId) ?? { concertName, tickets: 0, revenueCents: 0, confirmed: 0, rejected: 0 };
    for (const [field, value] of Object.entries(add) as Array<[keyof Omit<ConcertSales, 'concertName'>, number]>) row[field] += value;
    this.concerts.set(concertId, row);
  }
}
