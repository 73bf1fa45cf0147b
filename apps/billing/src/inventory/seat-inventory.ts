import { Injectable } from '@nestjs/common';
import type { Tx } from '../database.js';

/** Billing's seats, opened for each concert scheduled; ChargeService counts them off, never past capacity. */
@Injectable()
export class SeatInventory {
  /** Opens the concert's seats; a concert already known (the event again) keeps what it has sold. */
  async add(tx: Tx, concert: { concertId: string; name: string; capacity: number; priceCents: number }): Promise<void> {
    await tx.$executeRawUnsafe(
      `INSERT INTO seat_inventory (concert_id, name, capacity, price_cents) VALUES ($1::uuid, $2, $3::int, $4::int)
       ON CONFLICT (concert_id) DO NOTHING`,
      concert.concertId,
      concert.name,
      concert.capacity,
      concert.priceCents,
    );
  }
}
