import { PaymentCaptured, PaymentDeclined, SeatsUnavailable, type ChargeOrder, type MessageDefinition, type PayloadOf } from '@boxoffice/contracts';
import { uuidV7 } from '@boxoffice/messaging';
import { PRISMA } from '@boxoffice/platform';
import { Inject, Injectable } from '@nestjs/common';
import type { PrismaClient, Tx } from '../database.js';
import type { ChargeStatus } from '../generated/prisma/client.js';
import { SeatInventory } from '../inventory/seat-inventory.js';
import { PAYMENT_GATEWAY, type Authorization, type PaymentGateway } from './payment-gateway.port.js';

export type ChargeRequest = PayloadOf<typeof ChargeOrder>;

/** How a charge sends its result: a handler's `context.send`, or the outbox in an HTTP request's transaction. */
export type Send = <Definition extends MessageDefinition>(definition: Definition, payload: PayloadOf<Definition>) => unknown;

/** Billing has not heard of the concert yet: its ConcertScheduled event is still on the way. */
export class UnknownConcertError extends Error {
  constructor(concertId: string) {
    super(`concert ${concertId} is not in the seat inventory yet`);
  }
}

/**
 * Charging one order: reserve its seats and take the money, or say why not, exactly once per
 * order. Used by the ChargeOrder queue handler and by the synchronous POST /charges alike.
 */
@Injectable()
export class ChargeService {
  constructor(
    private readonly seats: SeatInventory,
    @Inject(PAYMENT_GATEWAY) private readonly gateway: PaymentGateway,
    @Inject(PRISMA) private readonly prisma: PrismaClient,
  ) {}

  /**
   * Authorizes a batch of charges at once, outside any transaction: the provider's latency is
   * then paid once per batch, in parallel, not once per charge while a seat row is locked.
   * Charges whose concert is unknown yet are left out; a hold not needed in the end is voided.
   */
  async authorizeAll(charges: ReadonlyArray<{ id: string; request: ChargeRequest }>): Promise<Map<string, Promise<Authorization>>> {
    const concertIds = [...new Set(charges.map(({ request }) => request.concertId))];
    const prices = new Map(
      (await this.prisma.seatInventory.findMany({ where: { concertId: { in: concertIds } }, select: { concertId: true, priceCents: true } })).map(
        (row) => [row.concertId, row.priceCents],
      ),
    );
    const authorized = new Map<string, Promise<Authorization>>();
    for (const { id, request } of charges) {
      const price = prices.get(request.concertId);
      if (price !== undefined) authorized.set(id, this.gateway.authorize({ orderId: request.orderId, amountCents: price * request.quantity }));
    }
    return authorized;
  }

  async charge(tx: Tx, request: ChargeRequest, send: Send, prepared?: Promise<Authorization>): Promise<ChargeStatus> {
    // The unique order id makes a second request for the same order a read, never a second charge.
    const earlier = await tx.charge.findUnique({ where: { orderId: request.orderId } });
    if (earlier) return this.release(prepared, earlier.status);

    const inventory = await this.seats.find(tx, request.concertId);
    if (!inventory) throw new UnknownConcertError(request.concertId);
    const amountCents = inventory.priceCents * request.quantity;
    const remaining = inventory.capacity - inventory.seatsSold;
    if (remaining < request.quantity) return this.release(prepared, await this.seatsUnavailable(tx, request, amountCents, remaining, send));

    // Authorize before taking the seat row lock, so the provider's latency does not serialise
    // every purchase of a concert behind one lock.
    const authorization = (await prepared) ?? (await this.gateway.authorize({ orderId: request.orderId, amountCents }));
    if (!authorization.approved) {
      await this.record(tx, request, amountCents, 'DECLINED', authorization.reason);
      await send(PaymentDeclined, { ...ids(request), amountCents, reason: authorization.reason });
      return 'DECLINED';
    }
    // The seat row is the hot spot of a sale: every purchase of the concert updates it, and its
    // lock is held from the UPDATE until the commit, so transactions pass it one at a time (a
    // batch of charges is one transaction, so it holds the lock once for all of them). The
    // capture is written first, under a savepoint, and undone if the last seats went to someone
    // else meanwhile; it is sent only once the seats are reserved, since a send is not undone
    // by a savepoint of this service's own.
    await tx.$executeRawUnsafe('SAVEPOINT capture');
    await this.record(tx, request, amountCents, 'CAPTURED', null, authorization.paymentId);
    if (await this.seats.reserve(tx, request.concertId, request.quantity)) {
      await send(PaymentCaptured, { ...ids(request), quantity: request.quantity, amountCents, paymentId: authorization.paymentId });
      return 'CAPTURED';
    }

    await tx.$executeRawUnsafe('ROLLBACK TO SAVEPOINT capture');
    await this.gateway.void(authorization);
    const now = await this.seats.find(tx, request.concertId);
    return this.seatsUnavailable(tx, request, amountCents, now ? now.capacity - now.seatsSold : 0, send);
  }

  /** A hold authorized for the batch that this charge did not need goes back. */
  private async release(prepared: Promise<Authorization> | undefined, status: ChargeStatus): Promise<ChargeStatus> {
    const authorization = await prepared;
    if (authorization?.approved) await this.gateway.void(authorization);
    return status;
  }

  private async seatsUnavailable(tx: Tx, request: ChargeRequest, amountCents: number, remaining: number, send: Send) {
    await this.record(tx, request, amountCents, 'SEATS_UNAVAILABLE', `${remaining} seats left`);
    await send(SeatsUnavailable, { ...ids(request), requested: request.quantity, remaining: Math.max(0, remaining) });
    return 'SEATS_UNAVAILABLE' as const;
  }

  private async record(tx: Tx, request: ChargeRequest, amountCents: number, status: ChargeStatus, reason: string | null, id = uuidV7()) {
    await tx.charge.create({
      data: { id, orderId: request.orderId, concertId: request.concertId, quantity: request.quantity, amountCents, status, reason },
    });
  }

}

const ids = (request: ChargeRequest) => ({ orderId: request.orderId, concertId: request.concertId });
