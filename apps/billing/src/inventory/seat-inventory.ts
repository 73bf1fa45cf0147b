import { Injectable } from '@nestjs/common';
import type { Tx } from '../database.js';

/** Billing's seats. Never oversold: a reservation is one conditional UPDATE, checked by the row lock. */
@Injectable()
export class SeatInventory {
  async add(tx: Tx, concert: { concertId: string; name: string; capacity: number; priceCents: number }): Promise<void> {
    await tx.seatInventory.upsert({ where: { concertId: concert.concertId }, create: concert, update: {} });
  }

  async find(tx: Tx, concertId: string) {
    return tx.seatInventory.findUnique({ where: { concertId } });
  }

  /**
   * Takes `quantity` seats if that many are left. Concurrent reservations queue on the row lock
   * and each re-checks the condition against the committed count, so the sum never passes capacity.
   */
  async reserve(tx: Tx, concertId: string, quantity: number): Promise<boolean> {
    const updated = await tx.$executeRaw`
      UPDATE seat_inventory SET seats_sold = seats_sold + ${quantity}, updated_at = now()
       WHERE concert_id = ${concertId}::uuid AND seats_sold + ${quantity} <= capacity`;
    return updated === 1;
  }
}
