import { ChargeOrder, OrderConfirmed, OrderRejected, type MessageDefinition, type PayloadOf } from '@boxoffice/contracts';
import { GroupCommit } from '@boxoffice/database';
import { MessageSender, uuidV7, type Clock } from '@boxoffice/messaging';
import { SQL, type Sql } from '@boxoffice/platform';
import { ConflictException, Inject, Injectable, NotFoundException } from '@nestjs/common';
import { v5 as uuidv5 } from 'uuid';
import { CHECKOUT_CLOCK, CHECKOUT_CONFIG, type CheckoutConfig } from '../checkout.config.js';
import { ConcertsService } from '../concerts/concerts.service.js';
import { isUniqueViolation, type Tx } from '../database.js';
import type { Order } from '../generated/prisma/client.js';
import { OrderIdempotency } from './order-idempotency.js';
import { OrderMetrics } from './order.metrics.js';
import { OrderPlacementGroupCommit } from './order-placement.group-commit.js';
import { ORDER_COLUMNS, orderOf, type OrderRow } from './order.rows.js';
import type { PlaceOrder } from './order.schemas.js';
import type { RejectionReason, Settlement } from './order.settlement.js';

/** What Billing is asked to charge: the order, and the instant by which it must be charged or declined. */
export type ChargeRequest = PayloadOf<typeof ChargeOrder>;

/** How a settlement sends its event: a handler's `context.send`, or the outbox in a request's transaction. */
type Send = <Definition extends MessageDefinition>(definition: Definition, payload: PayloadOf<Definition>) => unknown;

/** The answer to a buyer whose seats are not there: the concert is sold out, at the door. */
function soldOut(concertName: string, quantity: number): ConflictException {
  return new ConflictException({
    statusCode: 409,
    error: 'Conflict',
    reason: 'SOLD_OUT',
    message: `${concertName} has fewer than ${quantity} seat(s) left: sold out (seats come back only if an order ahead is rejected)`,
  });
}

/** An order as it was just written, PENDING: what the answer to its purchase shows, without reading it back. */
function pendingOrder(
  written: Pick<
    Order,
    'id' | 'concertId' | 'quantity' | 'customerEmail' | 'amountCents' | 'idempotencyKey' | 'requestHash' | 'pendingUntil'
  >,
  createdAt: Date,
  lineNumber: bigint | null,
): Order {
  return {
    ...written,
    status: 'PENDING',
    rejectionReason: null,
    createdAt,
    updatedAt: createdAt,
    settledAt: null,
    decidedAt: null,
    lineNumber,
  };
}

/** Any fixed UUID: it scopes the ids derived from Idempotency-Keys to synchronous orders. */
const SYNC_ORDER_NAMESPACE = '5d0c3f8e-2b1a-4c39-9f27-6c1f0b0e7a41';

/** Synchronous purchases settled in one transaction at most, and such transactions at once. */
const SYNC_SETTLE_BATCH = 100;
const SYNC_SETTLES_IN_FLIGHT = 2;
/** How long such a transaction may take (Prisma's interactive transactions' limit, which it ran in before). */
const SYNC_SETTLE_TIMEOUT_MS = 5_000;

/**
 * A synchronous order, PENDING, and its seats: one statement, so one implicit transaction. The
 * concert's row, which every purchase of it updates, is locked for that statement and its commit
 * only, not across round trips. A key used before fails the INSERT, and the seats claimed with it
 * are rolled back. Parameters: id, concert, quantity, email, amount, key, request hash, pending until.
 */
const PLACE_PENDING = `
WITH claimed AS (
  UPDATE concert c SET seats_claimed = c.seats_claimed + $3::int
   WHERE c.id = $2::uuid
     AND c.seats_claimed + $3::int <= c.capacity + coalesce((SELECT seats FROM concert_seats_returned r WHERE r.concert_id = c.id), 0)
  RETURNING c.id)
INSERT INTO "order" (id, concert_id, quantity, customer_email, amount_cents, idempotency_key, request_hash, pending_until)
SELECT $1::uuid, claimed.id, $3::int, $4::text, $5::int, $6::text, $7::text, $8::timestamptz
  FROM claimed
RETURNING created_at`;

@Injectable()
export class OrdersService {
  private readonly syncSettlements = new GroupCommit<{ orderId: string; settlement: Settlement }, Order>(
    (answers) => this.settleSync(answers),
    { maxBatch: SYNC_SETTLE_BATCH, maxInFlight: SYNC_SETTLES_IN_FLIGHT },
  );

  constructor(
    @Inject(SQL) private readonly sql: Sql,
    private readonly concerts: ConcertsService,
    private readonly messages: MessageSender,
    private readonly placements: OrderPlacementGroupCommit,
    private readonly idempotency: OrderIdempotency,
    private readonly metrics: OrderMetrics,
    @Inject(CHECKOUT_CONFIG) private readonly config: CheckoutConfig,
    @Inject(CHECKOUT_CLOCK) private readonly clock: Clock,
  ) {}

  /**
   * Accepts an order: writes it as PENDING and a ChargeOrder command to the outbox, in one
   * transaction, and returns. No broker and no Billing on the request path: when this returns,
   * the order is committed and its charge will happen, whatever is down right now. The write is
   * grouped with the purchases arriving at the same moment (OrderPlacementGroupCommit).
   *
   * The order is PENDING until ORDER_PENDING_DEADLINE_MS from now at most; the command asks
   * Billing to charge it by ORDER_CHARGE_MARGIN_MS before that, and to decline it otherwise.
   */
  async place(input: PlaceOrder, idempotencyKey: string): Promise<Order> {
    const requestHash = this.idempotency.hashOf(input);
    const concert = await this.concerts.find(input.concertId);
    if (!concert) throw new NotFoundException(`concert ${input.concertId} does not exist`);
    if (this.placements.soldOutFor(input.concertId, input.quantity, idempotencyKey)) {
      // Sold out a moment ago: no order, no command, no statement; only a repeat of a purchase
      // made before is answered with its order.
      if (await this.placements.keyUsed(idempotencyKey)) return this.idempotency.taken(idempotencyKey, requestHash);
      throw soldOut(concert.name, input.quantity);
    }
    const id = uuidV7();
    const amountCents = concert.priceCents * input.quantity;
    const pendingUntil = new Date(this.clock.now().getTime() + this.config.ORDER_PENDING_DEADLINE_MS);
    const command = this.messages.entry(ChargeOrder, this.chargeRequest(id, input, pendingUntil));
    const placed = await this.placements.place({ id, ...input, amountCents, idempotencyKey, requestHash, pendingUntil, command });
    // The key was used before (the group commit's ON CONFLICT): answer with that first order.
    if (!placed) return this.idempotency.taken(idempotencyKey, requestHash);
    if (placed === 'sold out') throw soldOut(concert.name, input.quantity);
    this.metrics.accept('async');
    return pendingOrder(
      { id, ...input, amountCents, idempotencyKey, requestHash, pendingUntil },
      placed.createdAt,
      BigInt(placed.lineNumber),
    );
  }

  /**
   * The synchronous way, kept to compare: the caller waits while `charge` calls Billing.
   *
   * The order is written PENDING first, in a commit of its own, and only then is Billing asked.
   * Billing announces its verdict twice, in its HTTP answer and as PaymentCaptured (or the like)
   * on Kafka, and the event may well arrive first: it must find the order, and settles it. The
   * answer then finds it settled, and both agree, Billing deciding once per order. A call that
   * fails or times out leaves the order PENDING: asked again with the same Idempotency-Key (the
   * id comes from the key), Checkout asks Billing again about the same order, which Billing,
   * idempotent per order, never charges twice; otherwise the deadline settles it TIMED_OUT.
   */
  async placeAndCharge(input: PlaceOrder, idempotencyKey: string, charge: (request: ChargeRequest) => Promise<Settlement>): Promise<Order> {
    const requestHash = this.idempotency.hashOf(input);
    // Placed at once: a repeat of a purchase finds its key taken, and goes on with that order.
    const order = await this.placePending(input, idempotencyKey, requestHash);
    if (order.status !== 'PENDING') return order;
    const settlement = await charge(this.chargeRequest(order.id, input, order.pendingUntil));
    return this.syncSettlements.submit({ orderId: order.id, settlement });
  }

  /**
   * Billing's answers to the synchronous purchases of the same moment, settled in one transaction
   * (the same `settleAll` as a batch of payment results), each caller answered with its order.
   */
  private async settleSync(answers: ReadonlyArray<{ orderId: string; settlement: Settlement }>): Promise<Order[]> {
    const { orders, outcome } = await this.sql.$transaction(
      async (tx) => {
        const outcome = await this.settleAll(tx, answers, (definition, payload) => this.messages.send(tx, definition, payload));
        const rows = await tx.$queryRawUnsafe<OrderRow[]>(
          `SELECT ${ORDER_COLUMNS} FROM "order" WHERE id = ANY($1::uuid[])`,
          answers.map((a) => a.orderId),
        );
        return { orders: rows.map(orderOf), outcome };
      },
      { timeout: SYNC_SETTLE_TIMEOUT_MS },
    );
    const moved = new Map(answers.filter((a) => outcome.get(a.orderId) === 'settled').map((a) => [a.orderId, a.settlement]));
    if (moved.size > 0) this.metrics.settle('sync', [...moved.values()]);
    const byId = new Map(orders.map((order) => [order.id, order]));
    return answers.map(({ orderId }) => byId.get(orderId)!);
  }

  /**
   * The synchronous order, PENDING, committed before Billing is asked, with its seats taken (or
   * ConflictException when they are not there); or the one a concurrent request with the key wrote.
   */
  private async placePending(input: PlaceOrder, idempotencyKey: string, requestHash: string): Promise<Order> {
    const concert = await this.concerts.find(input.concertId);
    if (!concert) throw new NotFoundException(`concert ${input.concertId} does not exist`);
    const pendingUntil = new Date(this.clock.now().getTime() + this.config.ORDER_PENDING_DEADLINE_MS);
    const id = uuidv5(idempotencyKey, SYNC_ORDER_NAMESPACE);
    const amountCents = concert.priceCents * input.quantity;
    try {
      const placed = await this.sql.$queryRawUnsafe<Array<{ created_at: Date }>>(
        PLACE_PENDING,
        id,
        input.concertId,
        input.quantity,
        input.customerEmail,
        amountCents,
        idempotencyKey,
        requestHash,
        pendingUntil,
      );
      if (placed.length === 0) {
        // No seats for it, unless it is a repeat of a purchase made before the concert sold out.
        const earlier = await this.idempotency.earlier(idempotencyKey, requestHash);
        if (earlier) return earlier;
        throw soldOut(concert.name, input.quantity);
      }
      this.metrics.accept('sync');
      // No place in the waiting line: the buyer waits on the request itself.
      return pendingOrder({ id, ...input, amountCents, idempotencyKey, requestHash, pendingUntil }, placed[0].created_at, null);
    } catch (error) {
      if (!isUniqueViolation(error)) throw error;
      return this.idempotency.taken(idempotencyKey, requestHash);
    }
  }

  /** The charge of an order: by its deadline less the time Billing's verdict takes to come back. */
  private chargeRequest(orderId: string, input: PlaceOrder, pendingUntil: Date): ChargeRequest {
    const chargeBy = new Date(pendingUntil.getTime() - this.config.ORDER_CHARGE_MARGIN_MS);
    return { orderId, ...input, chargeBy: chargeBy.toISOString() };
  }

  /** The order, as GET /orders/:id polls it. */
  async find(id: string): Promise<Order | null> {
    const [row] = await this.sql.$queryRawUnsafe<OrderRow[]>(`SELECT ${ORDER_COLUMNS} FROM "order" WHERE id = $1::uuid`, id);
    return row ? orderOf(row) : null;
  }

  /**
   * Moves PENDING orders to their final state and tells the subscribers, set-based: one UPDATE
   * for the batch, and an event per order it moved; a rejected order's seats are given back. An
   * order settled before stays as it is ('settled before'); one that does not exist is 'unknown'.
   * `decidedAt` is when the verdict was reached (Billing's, for its events); now when not given.
   */
  async settleAll(
    tx: Tx,
    verdicts: ReadonlyArray<{ orderId: string; settlement: Settlement; decidedAt?: string }>,
    send: Send,
  ): Promise<Map<string, 'settled' | 'settled before' | 'unknown'>> {
    const rows = verdicts.map(({ orderId, settlement, decidedAt }) => ({
      id: orderId,
      status: settlement.status,
      reason: settlement.status === 'REJECTED' ? settlement.reason : null,
      decided_at: decidedAt ?? null,
    }));
    const moved = await tx.$queryRawUnsafe<
      Array<{
        id: string;
        concert_id: string;
        concert_name: string;
        quantity: number;
        amount_cents: number;
        customer_email: string;
        status: string;
        rejection_reason: string | null;
      }>
    >(
      `WITH locked AS (
         -- The orders locked first, one after the other by id. Two batches may settle the same
         -- orders at once (the synchronous path's answers and Billing's events), and an UPDATE
         -- takes its rows in whatever order its plan visits them: each holding one the other
         -- wants next, PostgreSQL would end one of them as deadlocked.
         SELECT id FROM "order" WHERE id = ANY($2::uuid[]) AND status::text = 'PENDING' ORDER BY id FOR UPDATE
       ),
       moved AS (
         UPDATE "order" o
            SET status = v.status::order_status, rejection_reason = v.reason::rejection_reason, settled_at = clock_timestamp(),
                decided_at = coalesce(v.decided_at, clock_timestamp()), updated_at = clock_timestamp()
           FROM locked, json_to_recordset($1::json) AS v(id uuid, status text, reason text, decided_at timestamptz), concert c
          WHERE o.id = ANY($2::uuid[]) AND o.id = locked.id AND o.id = v.id AND o.status::text = 'PENDING' AND c.id = o.concert_id
         RETURNING o.id::text, o.concert_id, c.name AS concert_name, o.quantity, o.amount_cents, o.customer_email, o.status::text, o.rejection_reason::text
       ),
       -- A rejected order gives its seats back to the buyers who come after (the waiting room),
       -- on a row apart from the one the door locks, so that settling never waits for it. In
       -- concert order: two batches that give seats back to the same concerts take their rows in
       -- one order, and so never wait for each other in a circle.
       returned AS (
         INSERT INTO concert_seats_returned (concert_id, seats)
         SELECT concert_id, sum(quantity) FROM moved WHERE status = 'REJECTED' GROUP BY concert_id ORDER BY concert_id
         ON CONFLICT (concert_id) DO UPDATE SET seats = concert_seats_returned.seats + excluded.seats
       )
       SELECT id, concert_id::text, concert_name, quantity, amount_cents, customer_email, status, rejection_reason FROM moved`,
      JSON.stringify(rows),
      // The orders by their keys, and nothing else. Joined on the ids alone, or with a status the
      // partial index of pending orders can answer (status compared as text: it cannot), the plan
      // reads that whole index for each batch: a thousand and more orders in a spike, and the
      // entries of every order settled since the last vacuum.
      rows.map((row) => row.id),
    );
    const result = new Map<string, 'settled' | 'settled before' | 'unknown'>();
    for (const order of moved) {
      result.set(order.id, 'settled');
      const common = {
        orderId: order.id,
        concertId: order.concert_id,
        concertName: order.concert_name,
        quantity: order.quantity,
        customerEmail: order.customer_email,
      };
      if (order.status === 'CONFIRMED') await send(OrderConfirmed, { ...common, amountCents: order.amount_cents });
      else await send(OrderRejected, { ...common, reason: order.rejection_reason as RejectionReason });
    }
    const others = verdicts.map((v) => v.orderId).filter((id) => !result.has(id));
    if (others.length > 0) {
      const existing = await tx.$queryRawUnsafe<Array<{ id: string }>>(`SELECT id::text FROM "order" WHERE id = ANY($1::uuid[])`, others);
      const known = new Set(existing.map((row) => row.id));
      for (const id of others) result.set(id, known.has(id) ? 'settled before' : 'unknown');
    }
    return result;
  }

  /**
   * Of these orders, the ones settled TIMED_OUT: a payment Billing captured for one of them came
   * after the buyer was told the order timed out, and must be given back.
   */
  async timedOut(tx: Tx, orderIds: ReadonlyArray<string>): Promise<Set<string>> {
    if (orderIds.length === 0) return new Set();
    const rows = await tx.$queryRawUnsafe<Array<{ id: string }>>(
      `SELECT id::text FROM "order"
        WHERE id = ANY($1::uuid[]) AND status = 'REJECTED' AND rejection_reason = 'TIMED_OUT'`,
      orderIds,
    );
    return new Set(rows.map((row) => row.id));
  }
}
