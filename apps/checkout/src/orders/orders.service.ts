import { ChargeOrder, OrderConfirmed, OrderRejected, type Envelope } from '@boxoffice/contracts';
import { destinationOf, EnvelopeFactory, Outbox, uuidV7 } from '@boxoffice/messaging';
import { PRISMA } from '@boxoffice/platform';
import { ConflictException, Inject, Injectable, NotFoundException } from '@nestjs/common';
import { createHash } from 'node:crypto';
import { v5 as uuidv5 } from 'uuid';
import { ConcertsService } from '../concerts/concerts.service.js';
import { isUniqueViolation, type PrismaClient, type Tx } from '../database.js';
import type { Order } from '../generated/prisma/client.js';
import { OrderPlacementGroupCommit } from './order-placement.group-commit.js';
import type { PlaceOrder } from './order.schemas.js';

/** Any fixed UUID: it scopes the ids derived from Idempotency-Keys to synchronous orders. */
const SYNC_ORDER_NAMESPACE = '5d0c3f8e-2b1a-4c39-9f27-6c1f0b0e7a41';

export type Settlement = { status: 'CONFIRMED' } | { status: 'REJECTED'; reason: 'SOLD_OUT' | 'PAYMENT_DECLINED' };

@Injectable()
export class OrdersService {
  constructor(
    @Inject(PRISMA) private readonly prisma: PrismaClient,
    private readonly concerts: ConcertsService,
    private readonly outbox: Outbox,
    private readonly envelopes: EnvelopeFactory,
    private readonly placements: OrderPlacementGroupCommit,
  ) {}

  /**
   * Accepts an order: writes it as PENDING and a ChargeOrder command to the outbox, in one
   * transaction, and returns. No broker and no Billing on the request path: when this returns,
   * the order is committed and its charge will happen, whatever is down right now. The write is
   * grouped with the purchases arriving at the same moment (OrderPlacementGroupCommit).
   */
  async place(input: PlaceOrder, idempotencyKey: string): Promise<Order> {
    const requestHash = hashOf(input);
    const concert = await this.concerts.find(input.concertId);
    if (!concert) throw new NotFoundException(`concert ${input.concertId} does not exist`);
    const id = uuidV7();
    const amountCents = concert.priceCents * input.quantity;
    const command = this.envelopes.create(ChargeOrder, { orderId: id, ...input });
    const placed = await this.placements.place({ id, ...input, amountCents, idempotencyKey, requestHash, command });
    if (!placed) {
      // The key was used before: the Idempotency-Key contract answers with that first order.
      return sameRequest(await this.prisma.order.findUniqueOrThrow({ where: { idempotencyKey } }), requestHash);
    }
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
    return this.once(input, idempotencyKey, async (_, amountCents, requestHash) => {
      const settlement = await charge(id, input);
      return this.prisma.$transaction(async (tx) => {
        await tx.order.create({ data: { id, ...input, amountCents, idempotencyKey, requestHash } });
        return this.settleInTx(tx, id, settlement);
      });
    });
  }

  async find(id: string): Promise<Order | null> {
    return this.prisma.order.findUnique({ where: { id } });
  }

  /** Moves a PENDING order to its final state and tells the subscribers; a settled order stays as it is. */
  async settle(tx: Tx, orderId: string, settlement: Settlement, causedBy?: Envelope): Promise<Order | null> {
    const order = await tx.order.findUnique({ where: { id: orderId } });
    if (!order || order.status !== 'PENDING') return order;
    return this.settleInTx(tx, orderId, settlement, causedBy);
  }

  private async settleInTx(tx: Tx, orderId: string, settlement: Settlement, causedBy?: Envelope): Promise<Order> {
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
    const event =
      settlement.status === 'CONFIRMED'
        ? this.envelopes.create(OrderConfirmed, { ...common, amountCents: order.amountCents }, { causedBy })
        : this.envelopes.create(OrderRejected, { ...common, reason: settlement.reason }, { causedBy });
    await this.outbox.add(tx, event, destinationOf(settlement.status === 'CONFIRMED' ? OrderConfirmed : OrderRejected, orderId));
    const { concert: _, ...plain } = order;
    return plain;
  }

  /**
   * The Idempotency-Key contract: the same key with the same body returns the first order; the
   * same key with another body is a conflict. The unique key column settles races between retries.
   */
  private async once(
    input: PlaceOrder,
    idempotencyKey: string,
    create: (id: string, amountCents: number, requestHash: string) => Promise<Order>,
  ): Promise<Order> {
    const requestHash = hashOf(input);
    const earlier = await this.prisma.order.findUnique({ where: { idempotencyKey } });
    if (earlier) return sameRequest(earlier, requestHash);
    const concert = await this.concerts.find(input.concertId);
    if (!concert) throw new NotFoundException(`concert ${input.concertId} does not exist`);
    try {
      return await create(uuidV7(), concert.priceCents * input.quantity, requestHash);
    } catch (error) {
      if (!isUniqueViolation(error)) throw error;
      return sameRequest(await this.prisma.order.findUniqueOrThrow({ where: { idempotencyKey } }), requestHash);
    }
  }
}

/** What makes two requests with one Idempotency-Key the same request. */
function hashOf(input: PlaceOrder): string {
  return createHash('sha256').update(JSON.stringify([input.concertId, input.quantity, input.customerEmail])).digest('hex');
}

function sameRequest(order: Order, requestHash: string): Order {
  if (order.requestHash !== requestHash) {
    throw new ConflictException('this Idempotency-Key was already used with a different request body');
  }
  return order;
}
