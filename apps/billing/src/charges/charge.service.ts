import { PaymentCaptured, PaymentDeclined, SeatsUnavailable, type Envelope, type PayloadOf } from '@boxoffice/contracts';
import { ChargeOrder } from '@boxoffice/contracts';
import { destinationOf, EnvelopeFactory, Outbox, uuidV7 } from '@boxoffice/messaging';
import { Inject, Injectable } from '@nestjs/common';
import type { Tx } from '../database.js';
import type { ChargeStatus } from '../generated/prisma/client.js';
import { SeatInventory } from '../inventory/seat-inventory.js';
import { PAYMENT_GATEWAY, type PaymentGateway } from './payment-gateway.port.js';

export type ChargeRequest = PayloadOf<typeof ChargeOrder>;

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
    private readonly outbox: Outbox,
    private readonly envelopes: EnvelopeFactory,
  ) {}

  async charge(tx: Tx, request: ChargeRequest, causedBy?: Envelope): Promise<ChargeStatus> {
    // The unique order id makes a second request for the same order a read, never a second charge.
    const earlier = await tx.charge.findUnique({ where: { orderId: request.orderId } });
    if (earlier) return earlier.status;

    const inventory = await this.seats.find(tx, request.concertId);
    if (!inventory) throw new UnknownConcertError(request.concertId);
    const amountCents = inventory.priceCents * request.quantity;
    const remaining = inventory.capacity - inventory.seatsSold;
    if (remaining < request.quantity) return this.seatsUnavailable(tx, request, amountCents, remaining, causedBy);

    // Authorize before taking the seat row lock, so the provider's latency does not serialise
    // every purchase of a concert behind one lock.
    const authorization = await this.gateway.authorize({ orderId: request.orderId, amountCents });
    if (!authorization.approved) {
      await this.record(tx, request, amountCents, 'DECLINED', authorization.reason);
      await this.emit(tx, this.envelopes.create(PaymentDeclined, { ...ids(request), amountCents, reason: authorization.reason }, { causedBy }));
      return 'DECLINED';
    }
    // The seat row is the hot spot of a sale: every purchase of the concert updates it, and its
    // lock is held from the UPDATE until the commit, so purchases pass it one at a time. The
    // UPDATE is therefore the transaction's last statement: the capture is written first, under
    // a savepoint, and undone if the last seats went to someone else meanwhile. (With the UPDATE
    // first, the lock also spanned the two inserts: three round trips through a busy event loop
    // instead of one, and a sale's charges queued on the row lock; see pg_stat_activity.)
    await tx.$executeRawUnsafe('SAVEPOINT capture');
    await this.record(tx, request, amountCents, 'CAPTURED', null, authorization.paymentId);
    const captured = { ...ids(request), quantity: request.quantity, amountCents, paymentId: authorization.paymentId };
    await this.emit(tx, this.envelopes.create(PaymentCaptured, captured, { causedBy }));
    if (await this.seats.reserve(tx, request.concertId, request.quantity)) return 'CAPTURED';

    await tx.$executeRawUnsafe('ROLLBACK TO SAVEPOINT capture');
    await this.gateway.void(authorization);
    const now = await this.seats.find(tx, request.concertId);
    return this.seatsUnavailable(tx, request, amountCents, now ? now.capacity - now.seatsSold : 0, causedBy);
  }

  private async seatsUnavailable(tx: Tx, request: ChargeRequest, amountCents: number, remaining: number, causedBy?: Envelope) {
    await this.record(tx, request, amountCents, 'SEATS_UNAVAILABLE', `${remaining} seats left`);
    const event = this.envelopes.create(SeatsUnavailable, { ...ids(request), requested: request.quantity, remaining: Math.max(0, remaining) }, { causedBy });
    await this.emit(tx, event);
    return 'SEATS_UNAVAILABLE' as const;
  }

  private async record(tx: Tx, request: ChargeRequest, amountCents: number, status: ChargeStatus, reason: string | null, id = uuidV7()) {
    await tx.charge.create({
      data: { id, orderId: request.orderId, concertId: request.concertId, quantity: request.quantity, amountCents, status, reason },
    });
  }

  private async emit(tx: Tx, event: Envelope): Promise<void> {
    const definition = { PaymentCaptured, PaymentDeclined, SeatsUnavailable }[event.type as 'PaymentCaptured'];
    await this.outbox.add(tx, event, destinationOf(definition, (event.payload as { orderId: string }).orderId));
  }
}

const ids = (request: ChargeRequest) => ({ orderId: request.orderId, concertId: request.concertId });
