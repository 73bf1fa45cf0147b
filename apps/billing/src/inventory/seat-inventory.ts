import { Injectable } from '@nestjs/common';
import type { Tx } from '../database.js';

/** Billing's seats, opened for each concert scheduled; ChargeService counts them off, never past capacity. */
@Injectable()
export class SeatInventory {
  async add(tx: Tx, concert: { concertId: string; name: string; capacity: number; priceCents: number }): Promise<void> {
    await tx.seatInventory.upsert({ where: { concertId: concert.concertId }, create: concert, update: {} });
  }
}
