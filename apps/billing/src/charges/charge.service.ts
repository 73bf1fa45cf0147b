import {
  PaymentCaptured,
  PaymentDeclined,
  SeatsUnavailable,
  type ChargeOrder,
  type MessageDefinition,
  type PayloadOf,
} from '@boxoffice/contracts';
import { uuidV7 } from '@boxoffice/messaging';
import { PRISMA } from '@boxoffice/platform';
import { Inject, Injectable } from '@nestjs/common';
import type { PrismaClient, Tx } from '../database.js';
import type { ChargeStatus } from '../generated/prisma/client.js';
import { PAYMENT_GATEWAY, type Authorization, type PaymentGateway } from './payment-gateway.port.js';

export type ChargeRequest = PayloadOf<typeof ChargeOrder>;

/** How a charge sends its result: a handler's `context.send`, or the outbox in an HTTP request's transaction. */
export type Send = <Definition extends MessageDefinition>(definition: Definition, payload: PayloadOf<Definition>) => unknown;

/** One charge to make: the request, and the hold authorized for it before the transaction, if any. */
export interface ChargeJob {
  readonly request: ChargeRequest;
  readonly prepared?: Promise<Authorization>;
}

/** What became of a job: its charge's status, or null when its concert is not known yet. */
export type ChargeResult = ChargeStatus | null;

/** Billing has not heard of the concert yet: its ConcertScheduled event is still on the way. */
export class UnknownConcertError extends Error {
  constructor(concertId: string) {
    super(`concert ${concertId} is not in the seat inventory yet`);
  }
}

interface Seats {
  readonly priceCents: number;
  readonly capacity: number;
  sold: number;
  readonly sold0: number;
}

/**
 * Charging orders: reserve their seats and take the money, or say why not, exactly once per
 * order. Used for a batch of jobs from the ChargeOrder queue and for the synchronous POST
 * /charges alike, and set-based: a batch costs a handful of statements, not a handful per order.
 *
 * The seat rows are the hot spot of a sale: every purchase of a concert updates its row. They are
 * locked once for the batch (FOR UPDATE, in concert order, so two batches never wait on each
 * other in opposite orders), the seats are counted off in memory in the batch's order, and
 * written back with one UPDATE: never oversold, whatever runs beside.
 */
@Injectable()
export class ChargeService {
  constructor(
    @Inject(PAYMENT_GATEWAY) private readonly gateway: PaymentGateway,
    @Inject(PRISMA) private readonly prisma: PrismaClient,
  ) {}

  /**
   * Authorizes a batch of charges at once, outside any transaction: the provider's latency is
   * then paid once per batch, in parallel, not once per charge while the seat rows are locked.
   * Orders charged before (a redelivery) and concerts not known yet are left out; a hold not
   * needed in the end is voided.
   */
  async authorizeAll(requests: ReadonlyArray<ChargeRequest>): Promise<Map<string, Promise<Authorization>>> {
    const charged = new Set(
      (await this.prisma.charge.findMany({ where: { orderId: { in: requests.map((r) => r.orderId) } }, select: { orderId: true } })).map(
        (row) => row.orderId,
      ),
    );
    // A concert sold out already needs no holds: its charges will be SEATS_UNAVAILABLE.
    const prices = new Map(
      (
        await this.prisma.seatInventory.findMany({
          where: { concertId: { in: [...new Set(requests.map((r) => r.concertId))] } },
          select: { concertId: true, priceCents: true, capacity: true, seatsSold: true },
        })
      )
        .filter((row) => row.seatsSold < row.capacity)
        .map((row) => [row.concertId, row.priceCents]),
    );
    const authorized = new Map<string, Promise<Authorization>>();
    for (const request of requests) {
      const price = prices.get(request.concertId);
      if (price === undefined || charged.has(request.orderId) || authorized.has(request.orderId)) continue;
      const authorization = this.gateway.authorize({ orderId: request.orderId, amountCents: price * request.quantity });
      // Awaited later, in the transaction; a provider error meanwhile must not go unheard.
      authorization.catch(() => undefined);
      authorized.set(request.orderId, authorization);
    }
    return authorized;
  }

  /** One charge (the synchronous path); throws UnknownConcertError. */
  async charge(tx: Tx, request: ChargeRequest, send: Send): Promise<ChargeStatus> {
    const [status] = await this.chargeAll(tx, [{ request }], send);
    if (status === null) throw new UnknownConcertError(request.concertId);
    return status;
  }

  /** Charges a batch in order, in the caller's transaction; one result per job. */
  async chargeAll(tx: Tx, jobs: ReadonlyArray<ChargeJob>, send: Send): Promise<ChargeResult[]> {
    const orderIds = jobs.map(({ request }) => request.orderId);
    const concertIds = [...new Set(jobs.map(({ request }) => request.concertId))].sort();
    const seats = new Map(
      (
        await tx.$queryRawUnsafe<Array<{ concert_id: string; capacity: number; seats_sold: number; price_cents: number }>>(
          `SELECT concert_id::text, capacity, seats_sold, price_cents FROM seat_inventory
            WHERE concert_id IN (SELECT value::uuid FROM json_array_elements_text($1::json)) ORDER BY concert_id FOR UPDATE`,
          JSON.stringify(concertIds),
        )
      ).map((row): [string, Seats] => [
        row.concert_id,
        { priceCents: row.price_cents, capacity: row.capacity, sold: row.seats_sold, sold0: row.seats_sold },
      ]),
    );

    // The unique order id makes a second request for the same order a read, never a second charge.
    // Read after the seat rows are locked: a charge of the same order committed by a transaction
    // that held them is seen, not raced.
    const earlier = new Map(
      (
        await tx.$queryRawUnsafe<Array<{ order_id: string; status: ChargeStatus }>>(
          `SELECT order_id::text, status::text AS status FROM charge WHERE order_id IN (SELECT value::uuid FROM json_array_elements_text($1::json))`,
          JSON.stringify(orderIds),
        )
      ).map((row) => [row.order_id, row.status]),
    );
    const results: ChargeResult[] = [];
    const rows: Array<{
      id: string;
      orderId: string;
      concertId: string;
      quantity: number;
      amountCents: number;
      status: ChargeStatus;
      reason: string | null;
    }> = [];
    const events: Array<() => unknown> = [];
    for (const { request, prepared } of jobs) {
      const before = earlier.get(request.orderId);
      const inventory = seats.get(request.concertId);
      if (before !== undefined || !inventory) {
        this.release(prepared);
        results.push(before ?? null);
        continue;
      }
      const amountCents = inventory.priceCents * request.quantity;
      const remaining = inventory.capacity - inventory.sold;
      const ids = { orderId: request.orderId, concertId: request.concertId };
      let status: ChargeStatus;
      let reason: string | null = null;
      let id = uuidV7();
      if (remaining < request.quantity) {
        this.release(prepared);
        status = 'SEATS_UNAVAILABLE';
        reason = `${remaining} seats left`;
        events.push(() => send(SeatsUnavailable, { ...ids, requested: request.quantity, remaining: Math.max(0, remaining) }));
      } else {
        const authorization = (await prepared) ?? (await this.gateway.authorize({ orderId: request.orderId, amountCents }));
        if (authorization.approved) {
          inventory.sold += request.quantity;
          status = 'CAPTURED';
          id = authorization.paymentId;
          events.push(() => send(PaymentCaptured, { ...ids, quantity: request.quantity, amountCents, paymentId: authorization.paymentId }));
        } else {
          status = 'DECLINED';
          reason = authorization.reason;
          events.push(() => send(PaymentDeclined, { ...ids, amountCents, reason: authorization.reason }));
        }
      }
      // A second job for the same order in this batch reads this one's result.
      earlier.set(request.orderId, status);
      rows.push({ id, orderId: request.orderId, concertId: request.concertId, quantity: request.quantity, amountCents, status, reason });
      results.push(status);
    }

    if (rows.length > 0) {
      await tx.$executeRawUnsafe(
        `INSERT INTO charge (id, order_id, concert_id, quantity, amount_cents, status, reason)
         SELECT id, "orderId", "concertId", quantity, "amountCents", status::charge_status, reason
           FROM json_to_recordset($1::json) AS c(id uuid, "orderId" uuid, "concertId" uuid, quantity int, "amountCents" int, status text, reason text)`,
        JSON.stringify(rows),
      );
    }
    const sold = [...seats].filter(([, s]) => s.sold !== s.sold0).map(([concertId, s]) => ({ concertId, add: s.sold - s.sold0 }));
    if (sold.length > 0) {
      await tx.$executeRawUnsafe(
        `UPDATE seat_inventory SET seats_sold = seats_sold + s.add, updated_at = now()
           FROM json_to_recordset($1::json) AS s("concertId" uuid, add int) WHERE concert_id = s."concertId"`,
        JSON.stringify(sold),
      );
    }
    for (const event of events) await event();
    return results;
  }

  /**
   * A hold authorized for the batch that this charge did not need goes back: in the background,
   * as a provider's void is, so the seat rows are not held locked while it goes.
   */
  release(prepared: Promise<Authorization> | undefined): void {
    void prepared?.then((authorization) => (authorization.approved ? this.gateway.void(authorization) : undefined)).catch(() => undefined); // an unvoided hold expires at the provider
  }
}
