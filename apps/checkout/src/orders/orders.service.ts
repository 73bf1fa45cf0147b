import { ChargeOrder, OrderConfirmed, OrderRejected, type MessageDefinition, type PayloadOf } from '@boxoffice/contracts';
import { MessageSender, uuidV7 } from '@boxoffice/messaging';
import { PRISMA } from '@boxoffice/platform';
import { Inject, Injectable, NotFoundException } from '@nestjs/common';
import { v5 as uuidv5 } from 'uuid';
import { ConcertsService } from '../concerts/concerts.service.js';
import { isUniqueViolation, type PrismaClient, type Tx } from '../database.js';
import type { Order } from '../generated/prisma/client.js';
import { OrderIdempotency } from './order-idempotency.js';
import { OrderPlacementGroupCommit } from './order-placement.group-commit.js';
import type { PlaceOrder } from './order.schemas.js';

/** How a settlement sends its event: a handler's `context.send`, or the outbox in a request's transaction. */
type Send = <Definition extends MessageDefinition>(definition: Definition, payload: PayloadOf<Definition>) => unknown;

/** Any fixed UUID: it scopes the ids derived from Idempotency-Keys to synchronous orders. */
const SYNC_ORDER_NAMESPACE = '5d0c3f8e-2b1a-4c39-9f27-6c1f0b0e7a41';

export type Settlement = { status: 'CONFIRMED' } | { status: 'REJECTED'; reason: 'SOLD_OUT' | 'PAYMENT_DECLINED' };

@Injectable()
export class OrdersService {
  constructor(
    @Inject(PRISMA) private readonly prisma: PrismaClient,
    private readonly concerts: ConcertsService,
    private readonly messages: MessageSender,
    private readonly placements: OrderPlacementGroupCommit,
    private readonly idempotency: OrderIdempotency,
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
      return await this.prisma.$transaction(async (tx) => {
        await tx.order.create({ data: { id, ...input, amountCents: concert.priceCents * input.quantity, idempotencyKey, requestHash } });
        return this.settleInTx(tx, id, settlement, (definition, payload) => this.messages.send(tx, definition, payload));
      });
    } catch (error) {
      if (!isUniqueViolation(error)) throw error;
      return this.idempotency.taken(idempotencyKey, requestHash);
    }
  }

  async find(id: string): Promise<Order | null> {
    return this.prisma.order.findUnique({ where: { id } });
  }

  /** Moves a PENDING order to its final state and tells the subscribers; a settled order stays as it is. */
  async settle(tx: Tx, orderId: string, settlement: Settlement, send: Send): Promise<Order | null> {
    const order = await tx.order.findUnique({ where: { id: orderId } });
    if (!order || order.status !== 'PENDING') return order;
    return this.settleInTx(tx, orderId, settlement, send);
  }

  private async settleInTx(tx: Tx, orderId: string, settlement: Settlement, send: Send): Promise<Order> {
    const order = await tx.order.update({
      where: { id: orderId },
      data: {
        status: settlement.status,
        rejectionReason: settlement.status === 'REJECTED' ? settlement.reason : null,
        settledAt: new Date(),
        updatedAt: new Date(),
      },
      include: { concert: true },
    });
    const common = {
      orderId,
      concertId: order.concertId,
      concertName: order.concert.name,
      quantity: order.quantity,
      customerEmail: order.customerEmail,
    };
    if (settlement.status === 'CONFIRMED') await send(OrderConfirmed, { ...common, amountCents: order.amountCents });
    else await send(OrderRejected, { ...common, reason: settlement.reason });
    const { concert: _, ...plain } = order;
    return plain;
  }
}
