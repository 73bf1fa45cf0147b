import type { ConcertScheduled, Envelope, PayloadOf } from '@boxoffice/contracts';
import { Outcome, type HandlerOutcome, type MessageContext, type MessageHandler } from '@boxoffice/messaging';
import { Injectable } from '@nestjs/common';
import { WaitingChargeStore } from '../charges/waiting-charge.store.js';
import type { Tx } from '../database.js';
import { SeatInventory } from './seat-inventory.js';

/** A new concert: open its seats for sale, and put the charges that waited for it back on the work queue. */
@Injectable()
export class ConcertScheduledHandler implements MessageHandler<PayloadOf<typeof ConcertScheduled>, Tx> {
  constructor(
    private readonly seats: SeatInventory,
    private readonly waiting: WaitingChargeStore,
  ) {}

  async handle(message: Envelope<PayloadOf<typeof ConcertScheduled>>, { tx, send }: MessageContext<Tx>): Promise<HandlerOutcome> {
    const { concertId, name, capacity, priceCents } = message.payload;
    // Before the seats are written: a charge parking for this concert now waits for this commit, then finds the seats.
    await this.waiting.lockConcerts(tx, [concertId]);
    await this.seats.add(tx, { concertId, name, capacity, priceCents });
    await this.waiting.resume(tx, concertId, send);
    return Outcome.done();
  }
}
