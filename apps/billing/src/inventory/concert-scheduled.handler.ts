import { ConcertScheduled, type Envelope, type PayloadOf } from '@boxoffice/contracts';
import { Inbox, Outcome, type HandlerOutcome, type MessageHandler } from '@boxoffice/messaging';
import { Injectable } from '@nestjs/common';
import type { Tx } from '../database.js';
import { SeatInventory } from './seat-inventory.js';

/** A new concert: open its seats for sale. */
@Injectable()
export class ConcertScheduledHandler implements MessageHandler<PayloadOf<typeof ConcertScheduled>> {
  constructor(
    private readonly inbox: Inbox<Tx>,
    private readonly seats: SeatInventory,
  ) {}

  async handle(message: Envelope<PayloadOf<typeof ConcertScheduled>>): Promise<HandlerOutcome> {
    const { concertId, name, capacity, priceCents } = message.payload;
    return this.inbox.handleOnce(message, async (tx) => {
      await this.seats.add(tx, { concertId, name, capacity, priceCents });
      return Outcome.done();
    });
  }
}
