import { Injectable } from '@nestjs/common';
import type { Tx } from '../database.js';

/** Sign-ups per day. One upsert: concurrent events of the same day queue on the day's row. */
@Injectable()
export class SignupsProjection {
  async count(tx: Tx, day: string): Promise<void> {
    await tx.$executeRaw`
      INSERT INTO daily_signups (day, signups) VALUES (${day}::date, 1)
      ON CONFLICT (day) DO UPDATE SET signups = daily_signups.signups + 1`;
  }
}
