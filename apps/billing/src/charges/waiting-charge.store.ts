import { ChargeOrder, ChargeTimedOut, type Envelope, type PayloadOf } from '@boxoffice/contracts';
import { MessageSender, type Clock, type OutboxEntry } from '@boxoffice/messaging';
import { SQL, type Sql } from '@boxoffice/platform';
import { Inject, Injectable } from '@nestjs/common';
import { BILLING_CLOCK } from '../billing.config.js';
import type { Tx } from '../database.js';
import type { Send } from './charge.service.js';

type Charge = PayloadOf<typeof ChargeOrder>;

/** How long an expiry round's transaction may take (Prisma's interactive transactions' limit, which it ran in before). */
const EXPIRY_TIMEOUT_MS = 5_000;

/** A ChargeOrder waiting for its concert, and the instant past which it is declined instead. */
export interface Waiting {
  readonly command: Envelope<Charge>;
  readonly chargeBy: Date;
}

/**
 * ChargeOrders that came before their concert. Events and commands travel separately, so a
 * ChargeOrder may well reach Billing before the ConcertScheduled that opens its seats; retried,
 * it would be dead-lettered after a few attempts (some 15 s), and its order would stay PENDING.
 * Here it waits, for as long as its charge-by allows: `park` keeps it, `resume` puts it back on
 * the work queue when its concert arrives (ConcertScheduledHandler), and `expireDue` declines
 * those whose charge-by passed first (ChargeSweeper).
 *
 * The two meet on a transaction-scoped advisory lock per concert: parking re-reads the seat
 * inventory under it, and ConcertScheduled opens the seats and resumes under it, so a charge
 * parked while its concert arrives is either seen by `resume` or finds the concert itself.
 */
@Injectable()
export class WaitingChargeStore {
  constructor(
    @Inject(SQL) private readonly sql: Sql,
    private readonly messages: MessageSender,
    @Inject(BILLING_CLOCK) private readonly clock: Clock,
  ) {}

  /** Parks the charges whose concert is still unknown; returns the ones whose concert has arrived since they were read, to charge now. */
  async park(tx: Tx, charges: ReadonlyArray<Waiting>): Promise<Waiting[]> {
    if (charges.length === 0) return [];
    const concertIds = [...new Set(charges.map((c) => c.command.payload.concertId))].sort();
    await this.lockConcerts(tx, concertIds);
    const known = new Set(
      (
        await tx.$queryRawUnsafe<Array<{ concert_id: string }>>(
          `SELECT concert_id::text FROM seat_inventory WHERE concert_id = ANY($1::uuid[])`,
          concertIds,
        )
      ).map((row) => row.concert_id),
    );
    const parked = charges.filter((c) => !known.has(c.command.payload.concertId));
    if (parked.length > 0) {
      // A duplicate of a waiting charge (the same order) waits once.
      await tx.$executeRawUnsafe(
        `INSERT INTO waiting_charge (order_id, concert_id, charge_by, command)
         SELECT w."orderId", w."concertId", w."chargeBy", w.command FROM json_to_recordset($1::json) AS w("orderId" uuid, "concertId" uuid, "chargeBy" timestamptz, command jsonb)
         ON CONFLICT (order_id) DO NOTHING`,
        JSON.stringify(
          parked.map(({ command, chargeBy }) => ({
            orderId: command.payload.orderId,
            concertId: command.payload.concertId,
            chargeBy,
            command,
          })),
        ),
      );
    }
    return charges.filter((c) => known.has(c.command.payload.concertId));
  }

  /**
   * Takes the advisory lock that `park` and `resume` meet on, for a concert about to be opened:
   * call it before its seats are written, in the same transaction.
   */
  async lockConcerts(tx: Tx, concertIds: ReadonlyArray<string>): Promise<void> {
    // In one order (sorted by the callers), so two transactions never wait on each other's.
    for (const concertId of concertIds) await tx.$executeRawUnsafe(`SELECT pg_advisory_xact_lock(hashtextextended($1, 0))`, concertId);
  }

  /**
   * Puts the charges that waited for this concert back on the work queue, as new ChargeOrders of
   * the same conversation, so they are charged at Billing's safe rate like any other.
   */
  async resume(tx: Tx, concertId: string, send: Send): Promise<number> {
    const resumed = await tx.$queryRawUnsafe<Array<{ command: Envelope<Charge> }>>(
      `DELETE FROM waiting_charge WHERE concert_id = $1::uuid RETURNING command`,
      concertId,
    );
    for (const { command } of resumed) await send(ChargeOrder, command.payload, { causedBy: command });
    return resumed.length;
  }

  /**
   * Declines up to `limit` waiting charges whose charge-by has passed: a TIMED_OUT charge row (so
   * the order is never charged later, whatever arrives) and ChargeTimedOut, in one transaction.
   * Rows are taken SKIP LOCKED: instances sweeping at once share the work. Returns how many.
   */
  async expireDue(limit: number): Promise<number> {
    return this.sql.$transaction(
      async (tx) => {
        const expired = await tx.$queryRawUnsafe<
          Array<{ order_id: string; concert_id: string; charge_by: Date; command: Envelope<Charge> }>
        >(
          `DELETE FROM waiting_charge
          WHERE order_id IN (SELECT order_id FROM waiting_charge WHERE charge_by <= $1::timestamptz ORDER BY charge_by LIMIT $2 FOR UPDATE SKIP LOCKED)
          RETURNING order_id::text, concert_id::text, charge_by, command`,
          this.clock.now().toISOString(),
          limit,
        );
        if (expired.length === 0) return 0;
        const declined = await tx.$queryRawUnsafe<Array<{ order_id: string }>>(
          `INSERT INTO charge (id, order_id, concert_id, quantity, amount_cents, status, reason)
         SELECT gen_random_uuid(), e."orderId", e."concertId", e.quantity, 0, 'TIMED_OUT', e.reason
           FROM json_to_recordset($1::json) AS e("orderId" uuid, "concertId" uuid, quantity int, reason text)
         ON CONFLICT (order_id) DO NOTHING RETURNING order_id::text`,
          JSON.stringify(
            expired.map((row) => ({
              orderId: row.order_id,
              concertId: row.concert_id,
              quantity: row.command.payload.quantity,
              reason: `its concert was not known by its charge-by, ${new Date(row.charge_by).toISOString()}`,
            })),
          ),
        );
        const newlyDeclined = new Set(declined.map((row) => row.order_id));
        const entries: OutboxEntry[] = expired
          .filter((row) => newlyDeclined.has(row.order_id))
          .map((row) =>
            this.messages.entry(
              ChargeTimedOut,
              { orderId: row.order_id, concertId: row.concert_id, chargeBy: new Date(row.charge_by).toISOString() },
              { causedBy: row.command },
            ),
          );
        await this.messages.addMany(tx, entries);
        return expired.length;
      },
      { timeout: EXPIRY_TIMEOUT_MS },
    );
  }
}
