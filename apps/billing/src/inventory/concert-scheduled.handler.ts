import type { ConcertScheduled, Envelope, PayloadOf } from '@boxoffice/contracts';
import { Outcome, type HandlerOutcome, type MessageContext, type MessageHandler } from '@boxoffice/messaging';
import { Injectable } from '@nestjs/common';
import type { Tx } from '../database.js';
import { SeatInventory } from './seat-inventory.js';

/** A new concert: open its seats for sale. */
@Injectable()
export class ConcertScheduledHandler implements MessageHandler<PayloadOf<typeof ConcertScheduled>, Tx> {
  constructor(private readonly seats: SeatInventory) {}

  async handle(message: Envelope<PayloadOf<typeof ConcertScheduled>>, { tx }: MessageContext<Tx>): Promise<HandlerOutcome> {
    const { concertId, name, capacity, priceCents } = message.payload;
    await this.seats.add(tx, { concertId, name, capacity, priceCents });
    return Outcome.done();
  }
}
