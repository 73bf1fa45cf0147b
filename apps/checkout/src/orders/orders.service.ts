import { ChargeOrder, OrderConfirmed, OrderRejected, type MessageDefinition, type PayloadOf } from '@boxoffice/contracts';
import { MessageSender, uuidV7 } from '@boxoffice/messaging';
import { PRISMA } from '@boxoffice/platform';
import { Inject, Injectable, NotFoundException } from '@nestjs/common';
import { v5 as uuidv5 } from 'uuid';
import { ConcertsService } from '../concerts/concerts.service.js';
import { isUniqueViolation, type PrismaClient, type Tx } from '../database.js';
import type { Order } from '../generated/prisma/client.js';
import { OrderIdempotency } from './order-idempotency.js';
import { OrderMetrics } from './order.metrics.js';
import { OrderPlacementGroupCommit } from './order-placement.group-commit.js';
import type { PlaceOrder } from './order.schemas.js';
import type { Settlement } from './order.settlement.js';

/** How a settlement sends its event: a handler's `context.send`, or the outbox in a request's transaction. */
type Send = <Definition extends MessageDefinition>(definition: Definition, payload: PayloadOf<Definition>) => unknown;

/** Any fixed UUID: it scopes the ids derived from Idempotency-Keys to synchronous orders. */
const SYNC_ORDER_NAMESPACE = '5d0c3f8e-2b1a-4c39-9f27-6c1f0b0e7a41';

@Injectable()
export class OrdersService {
  constructor(
    @Inject(PRISMA) private readonly prisma: PrismaClient,
    private readonly concerts: ConcertsService,
    private readonly messages: MessageSender,
    private readonly placements: OrderPlacementGroupCommit,
    private readonly idempotency: OrderIdempotency,
    private readonly metrics: OrderMetrics,
  ) {}

  /**
   * Accepts an order: writes it as PENDING and a ChargeOrder command to the outbox, in one
   * transaction, and returns. No broker and no Billing on the request path: when this returns,
   * the order is committed and its charge will happen, whatever is down right now. The write is
   * grouped with the purchases arriving at the same moment (OrderPlacementGroupCommit).
   */
  async place(input: PlaceOrder, idempotencyKey: string): Promise<Order> {
    const requestHash = this.idempotency.hashOf(input);
    const concert = await this.concerts.find(input.concertId);
    if (!concert) throw new NotFoundException(`concert ${input.concertId} does not exist`);
    const id = uuidV7();
    const amountCents = concert.priceCents * input.quantity;
    const command = this.messages.entry(ChargeOrder, { orderId: id, ...input });
    const placed = await this.placements.place({ id, ...input, amountCents, idempotencyKey, requestHash, command });
    // The key was used before (the group commit's ON CONFLICT): answer with that first order.
    if (!placed) return this.idempotency.taken(idempotencyKey, requestHash);
    this.metrics.accept('async');
    return {
      id,
      ...input,
      amountCents,
      status: 'PENDING',
      rejectionReason: null,
      idempotencyKey,
      requestHash,
      createdAt: placed.createdAt,
      updatedAt: placed.createdAt,
      settledAt: null,
    };
  }

  /**
   * The synchronous way, kept to compare: the caller waits while `charge` calls Billing. Only a
   * settled order is written, so a failed call leaves nothing behind and may be retried.
   */
  async placeAndCharge(
    input: PlaceOrder,
    idempotencyKey: string,
    charge: (orderId: string, input: PlaceOrder) => Promise<Settlement>,
  ): Promise<Order> {
    // The id comes from the key, so a retry after a timeout asks Billing about the same order,
    // and Billing, idempotent per order, does not charge twice.
    const id = uuidv5(idempotencyKey, SYNC_ORDER_NAMESPACE);
    const requestHash = this.idempotency.hashOf(input);
    const earlier = await this.idempotency.earlier(idempotencyKey, requestHash);
    if (earlier) return earlier;
    const concert = await this.concerts.find(input.concertId);
    if (!concert) throw new NotFoundException(`concert ${input.concertId} does not exist`);
    const settlement = await charge(id, input);
    try {
      const order = await this.prisma.$transaction(async (tx) => {
        await tx.order.create({ data: { id, ...input, amountCents: concert.priceCents * input.quantity, idempotencyKey, requestHash } });
        return this.settleInTx(tx, id, settlement, (definition, payload) => this.messages.send(tx, definition, payload));
      });
      this.metrics.accept('sync');
      this.metrics.settle('sync', [settlement]);
      return order;
    } catch (error) {
      if (!isUniqueViolation(error)) throw error;
      return this.idempotency.taken(idempotencyKey, requestHash);
    }
  }

  async find(id: string): Promise<Order | null> {
    return this.prisma.order.findUnique({ where: { id } });
  }

  /**
   * Moves PENDING orders to their final state and tells the subscribers, set-based: one UPDATE
   * for the batch, and an event per order it moved. An order settled before stays as it is
   * ('settled before'); one that does not exist is 'unknown'.
   */
  async settleAll(
    tx: Tx,
    verdicts: ReadonlyArray<{ orderId: string; settlement: Settlement }>,
    send: Send,
  ): Promise<Map<string, 'settled' | 'settled before' | 'unknown'>> {
    const rows = verdicts.map(({ orderId, settlement }) => ({
      id: orderId,
      status: settlement.status,
      reason: settlement.status === 'REJECTED' ? settlement.reason : null,
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
      `UPDATE "order" o
          SET status = v.status::order_status, rejection_reason = v.reason::rejection_reason, settled_at = clock_timestamp(), updated_at = clock_timestamp()
         FROM json_to_recordset($1::json) AS v(id uuid, status text, reason text), concert c
        WHERE o.id = v.id AND o.status = 'PENDING' AND c.id = o.concert_id
       RETURNING o.id::text, o.concert_id::text, c.name AS concert_name, o.quantity, o.amount_cents, o.customer_email, o.status::text, o.rejection_reason::text`,
      JSON.stringify(rows),
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
      else await send(OrderRejected, { ...common, reason: order.rejection_reason as 'SOLD_OUT' | 'PAYMENT_DECLINED' });
    }
    const others = verdicts.map((v) => v.orderId).filter((id) => !result.has(id));
    if (others.length > 0) {
      const existing = await tx.$queryRawUnsafe<Array<{ id: string }>>(
        `SELECT id::text FROM "order" WHERE id IN (SELECT value::uuid FROM json_array_elements_text($1::json))`,
        JSON.stringify(others),
      );
      const known = new Set(existing.map((row) => row.id));
      for (const id of others) result.set(id, known.has(id) ? 'settled before' : 'unknown');
    }
    return result;
  }

  private async settleInTx(tx: Tx, orderId: string, settlement: Settlement, send: Send): Promise<Order> {
    await this.settleAll(tx, [{ orderId, settlement }], send);
    return tx.order.findUniqueOrThrow({ where: { id: orderId } });
  }
}
