import {
  ChargeTimedOut,
  PaymentCaptured,
  PaymentDeclined,
  PaymentRefunded,
  SeatsUnavailable,
  type ChargeOrder,
  type MessageDefinition,
  type PayloadOf,
  type RefundPayment,
} from '@boxoffice/contracts';
import { uuidV7, type Clock, type EnvelopeOptions } from '@boxoffice/messaging';
import { SQL, type Sql } from '@boxoffice/platform';
import { Inject, Injectable } from '@nestjs/common';
import { BILLING_CLOCK } from '../billing.config.js';
import type { Tx } from '../database.js';
import type { ChargeStatus } from '../generated/prisma/client.js';
import { PaymentHoldLedger, type Hold } from './payment-hold.ledger.js';

export type ChargeRequest = PayloadOf<typeof ChargeOrder>;

/** How a charge sends its result: a handler's `context.send`, or the outbox in an HTTP request's transaction. */
export type Send = <Definition extends MessageDefinition>(
  definition: Definition,
  payload: PayloadOf<Definition>,
  options?: EnvelopeOptions,
) => unknown;

/** One charge to make, and the instant past which it is declined instead (null: none, the caller is waiting for it). */
export interface ChargeJob {
  readonly request: ChargeRequest;
  readonly chargeBy: Date | null;
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
 * order. Used for a batch of jobs from the ChargeOrder queue and for a batch of synchronous
 * POST /charges (SyncChargeBatches) alike, and set-based: a batch costs a handful of
 * statements, not a handful per order.
 *
 * The seat rows are the hot spot of a sale: every purchase of a concert updates its row. They are
 * locked once for the batch (FOR UPDATE, in concert order, so two batches never wait on each
 * other in opposite orders), the seats are counted off in memory in the batch's order, and
 * written back with one UPDATE: never oversold, whatever runs beside.
 *
 * The money goes through PaymentHoldLedger: holds authorized before the transaction (`prepareAll`)
 * are taken or released with the charge, and the provider is asked to capture or void after the
 * commit. A job past its charge-by is declined TIMED_OUT and never charged: Checkout has told, or
 * is about to tell, its buyer that the order timed out.
 */
@Injectable()
export class ChargeService {
  constructor(
    private readonly holds: PaymentHoldLedger,
    @Inject(SQL) private readonly sql: Sql,
    @Inject(BILLING_CLOCK) private readonly clock: Clock,
  ) {}

  /**
   * Authorizes the payments of a batch at once, outside any transaction: the provider's latency
   * is then paid once per batch, in parallel, not once per charge while the seat rows are locked.
   * Left out: orders charged before, jobs past their charge-by, and concerts unknown or sold out;
   * an order with a hold already (a redelivery) keeps it. A hold not needed in the end is voided.
   */
  async prepareAll(jobs: ReadonlyArray<ChargeJob>): Promise<void> {
    const orderIds = jobs.map(({ request }) => request.orderId);
    // Two reads at once, on two of the pool's connections: the batch waits for one round trip, not two.
    const [chargedRows, seatRows] = await Promise.all([
      this.sql.$queryRawUnsafe<Array<{ order_id: string }>>(`SELECT order_id::text FROM charge WHERE order_id = ANY($1::uuid[])`, orderIds),
      this.sql.$queryRawUnsafe<Array<{ concert_id: string; price_cents: number }>>(
        `SELECT concert_id::text, price_cents FROM seat_inventory WHERE concert_id = ANY($1::uuid[]) AND seats_sold < capacity`,
        [...new Set(jobs.map(({ request }) => request.concertId))],
      ),
    ]);
    const charged = new Set(chargedRows.map((row) => row.order_id));
    const prices = new Map(seatRows.map((row) => [row.concert_id, row.price_cents]));
    const wanted = new Map<string, { orderId: string; amountCents: number }>();
    for (const job of jobs) {
      const { orderId, concertId, quantity } = job.request;
      const price = prices.get(concertId);
      if (price === undefined || charged.has(orderId) || this.isPast(job)) continue;
      wanted.set(orderId, { orderId, amountCents: price * quantity });
    }
    await this.holds.authorizeAll([...wanted.values()]);
  }

  /** Charges a batch in order, in the caller's transaction; one result per job. */
  async chargeAll(tx: Tx, jobs: ReadonlyArray<ChargeJob>, send: Send): Promise<ChargeResult[]> {
    const orderIds = jobs.map(({ request }) => request.orderId);
    const concertIds = [...new Set(jobs.map(({ request }) => request.concertId))].sort();
    const seats = new Map(
      (
        await tx.$queryRawUnsafe<Array<{ concert_id: string; capacity: number; seats_sold: number; price_cents: number }>>(
          `SELECT concert_id::text, capacity, seats_sold, price_cents FROM seat_inventory
            WHERE concert_id = ANY($1::uuid[]) ORDER BY concert_id FOR UPDATE`,
          concertIds,
        )
      ).map((row): [string, Seats] => [
        row.concert_id,
        { priceCents: row.price_cents, capacity: row.capacity, sold: row.seats_sold, sold0: row.seats_sold },
      ]),
    );

    // The unique order id makes a second request for the same order a read, never a second charge.
    // Read after the seat rows are locked: a charge of the same order committed by a transaction
    // that held them is seen, not raced. The ids go as an array: `= ANY` is a lookup in the unique
    // index per id, where `IN (SELECT ... FROM json_array_elements_text(...))` was planned as a
    // hash join over the whole table, so every batch read every charge ever made (at 20,000 charges,
    // 4.75 million rows read in 12 s of a steady 200/s).
    const earlier = new Map(
      (
        await tx.$queryRawUnsafe<Array<{ order_id: string; status: ChargeStatus }>>(
          `SELECT order_id::text, status::text AS status FROM charge WHERE order_id = ANY($1::uuid[])`,
          orderIds,
        )
      ).map((row) => [row.order_id, row.status]),
    );
    const holds = await this.lockHolds(tx, jobs, seats, earlier);

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
    const decisions = { capture: [] as string[], release: [] as string[], consumed: [] as string[] };
    for (const job of jobs) {
      const { request } = job;
      // Each hold is decided once: a second job for the same order finds none left.
      const orderHolds = holds.get(request.orderId) ?? [];
      holds.delete(request.orderId);
      const held = orderHolds.filter((hold) => hold.status === 'HELD').map((hold) => hold.paymentId);
      const declined = orderHolds.find((hold) => hold.status === 'DECLINED');
      decisions.consumed.push(...orderHolds.filter((hold) => hold.status === 'DECLINED').map((hold) => hold.paymentId));
      const before = earlier.get(request.orderId);
      const inventory = seats.get(request.concertId);
      const ids = { orderId: request.orderId, concertId: request.concertId };
      let status: ChargeStatus;
      let reason: string | null = null;
      let id = uuidV7();
      const amountCents = (inventory?.priceCents ?? 0) * request.quantity;
      const chargeBy = job.chargeBy?.toISOString();
      if (before !== undefined) {
        decisions.release.push(...held);
        results.push(before);
        continue;
      } else if (chargeBy && this.isPast(job)) {
        decisions.release.push(...held);
        status = 'TIMED_OUT';
        reason = `its charge-by, ${chargeBy}, passed before it was charged`;
        events.push(() => send(ChargeTimedOut, { ...ids, chargeBy }));
      } else if (!inventory) {
        // Its concert is not known yet: null, and the handler keeps it waiting.
        decisions.release.push(...held);
        results.push(null);
        continue;
      } else if (inventory.capacity - inventory.sold < request.quantity) {
        decisions.release.push(...held);
        const remaining = inventory.capacity - inventory.sold;
        status = 'SEATS_UNAVAILABLE';
        reason = `${remaining} seats left`;
        events.push(() => send(SeatsUnavailable, { ...ids, requested: request.quantity, remaining: Math.max(0, remaining) }));
      } else if (held.length > 0) {
        const [taken, ...spare] = held;
        decisions.capture.push(taken);
        decisions.release.push(...spare);
        inventory.sold += request.quantity;
        status = 'CAPTURED';
        id = taken;
        events.push(() => send(PaymentCaptured, { ...ids, quantity: request.quantity, amountCents, paymentId: taken }));
      } else if (declined) {
        const why = declined.declineReason ?? 'declined by the payment provider';
        status = 'DECLINED';
        reason = why;
        events.push(() => send(PaymentDeclined, { ...ids, amountCents, reason: why }));
      } else {
        // The provider answered neither `prepareAll` nor `lockHolds`: the batch is tried again later.
        throw new Error(`the payment provider gave no answer for order ${request.orderId}`);
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
    await this.holds.decide(tx, decisions);
    for (const event of events) await event();
    return results;
  }

  /**
   * Gives back a captured payment whose order timed out at Checkout before the capture reached
   * it: the charge becomes REFUNDED, its seats go back on sale, the provider is asked to refund
   * (or void a capture not done yet), and PaymentRefunded says so. Once per charge: a second
   * request finds it REFUNDED and does nothing. False when there was nothing to refund.
   */
  async refund(tx: Tx, request: PayloadOf<typeof RefundPayment>, send: Send): Promise<boolean> {
    const [charge] = await tx.$queryRawUnsafe<Array<{ concert_id: string; quantity: number; amount_cents: number }>>(
      `UPDATE charge SET status = 'REFUNDED', reason = $3
        WHERE order_id = $1::uuid AND id = $2::uuid AND status = 'CAPTURED'
        RETURNING concert_id::text, quantity, amount_cents`,
      request.orderId,
      request.paymentId,
      'refunded: its order had timed out when the capture reached Checkout',
    );
    if (!charge) return false;
    // The provider's side first: it may wait for a capture under way, and the seat row, the
    // sale's hot spot, is locked only after.
    await this.holds.refund(tx, { paymentId: request.paymentId, orderId: request.orderId, amountCents: charge.amount_cents });
    await tx.$executeRawUnsafe(
      `UPDATE seat_inventory SET seats_sold = seats_sold - $2, updated_at = now() WHERE concert_id = $1::uuid`,
      charge.concert_id,
      charge.quantity,
    );
    await send(PaymentRefunded, {
      orderId: request.orderId,
      concertId: charge.concert_id,
      quantity: charge.quantity,
      amountCents: charge.amount_cents,
      paymentId: request.paymentId,
      reason: request.reason,
    });
    return true;
  }

  /**
   * The holds of the jobs, locked. A job that will pay (not charged before, not past its
   * charge-by, its concert known and not sold out) but has no hold or decline (its `prepare`
   * failed, or the sweep gave its hold up) is authorized now, with the seats locked: rare.
   */
  private async lockHolds(
    tx: Tx,
    jobs: ReadonlyArray<ChargeJob>,
    seats: ReadonlyMap<string, Seats>,
    earlier: ReadonlyMap<string, ChargeStatus>,
  ): Promise<Map<string, Hold[]>> {
    const orderIds = jobs.map(({ request }) => request.orderId);
    const holds = await this.holds.lockUsable(tx, orderIds);
    const unprepared = new Map<string, { orderId: string; amountCents: number }>();
    for (const job of jobs) {
      const { orderId, concertId, quantity } = job.request;
      const inventory = seats.get(concertId);
      if (!inventory || inventory.sold >= inventory.capacity || earlier.has(orderId) || holds.has(orderId) || this.isPast(job)) continue;
      unprepared.set(orderId, { orderId, amountCents: inventory.priceCents * quantity });
    }
    if (unprepared.size === 0) return holds;
    await this.holds.authorizeAll([...unprepared.values()]);
    return this.holds.lockUsable(tx, orderIds);
  }

  private isPast(job: ChargeJob): boolean {
    return job.chargeBy !== null && job.chargeBy.getTime() <= this.clock.now().getTime();
  }
}
