import { GroupCommit } from '@boxoffice/database';
import { Outbox, type OutboxEntry } from '@boxoffice/messaging';
import { SQL, type Sql } from '@boxoffice/platform';
import { Inject, Injectable } from '@nestjs/common';

/** One accepted purchase: the order row and the ChargeOrder command that goes with it. */
export interface Placement {
  readonly id: string;
  readonly concertId: string;
  readonly quantity: number;
  readonly customerEmail: string;
  readonly amountCents: number;
  readonly idempotencyKey: string;
  readonly requestHash: string;
  /** Past this, the order is settled TIMED_OUT if Billing's verdict has not come (PendingOrderSweeper). */
  readonly pendingUntil: Date;
  /** Its ChargeOrder, envelope and destination (MessageSender.entry). */
  readonly command: OutboxEntry;
}

/**
 * What became of a purchase: accepted, with when its row went in and its place in line; turned
 * away because its concert has no seats left for it ('sold out'); or null when the
 * Idempotency-Key was there already (in the table, or earlier in the same batch).
 */
export type Placed = { readonly createdAt: Date; readonly lineNumber: number } | 'sold out' | null;

/**
 * Batches beyond this gain little: the statement is already one round trip, and a batch's
 * buyers all wait for its slowest part.
 */
const MAX_BATCH = 250;
/**
 * Statements in flight at once. While one runs, new purchases gather into the next batch, so
 * batches grow with the load by themselves: one purchase alone is written at once, a spike is
 * written a few hundred rows per commit. One: the statements of a sale queue for its concert's
 * row anyway, so a second one in flight only splits the crowd into smaller batches, each a
 * statement and a commit more. With four, the open-model front door of bench:ticket-sale at
 * 1,000/s cost PostgreSQL 0.68 cores and answered at p99 892-1,967 ms; with one, 0.54-0.58 cores
 * and 315-766 ms.
 */
export const PLACEMENTS_IN_FLIGHT = 1;
/**
 * How long a concert found sold out is remembered: buyers who come within it are turned away
 * without a statement. Seats come back only when an order ahead is rejected, and such a seat is
 * offered about this late (a statement that waited for a concert's lock may tell a moment-old
 * count as it ends).
 */
const SOLD_OUT_REMEMBERED_MS = 500;

const PLACE = `
WITH input AS (
  SELECT * FROM jsonb_to_recordset($1::jsonb) AS t(
    arrival int, id uuid, concert_id uuid, quantity int, customer_email text, amount_cents int,
    idempotency_key text, request_hash text, pending_until timestamptz, outbox_row jsonb)
),
-- A key used before, in the table or earlier in this batch, is no new buyer: it takes no seat.
fresh AS (
  SELECT DISTINCT ON (idempotency_key) * FROM input
   WHERE NOT EXISTS (SELECT 1 FROM "order" o WHERE o.idempotency_key = input.idempotency_key)
   ORDER BY idempotency_key, arrival
),
-- The seats still free: the concerts' rows locked until this commits (in one order, so two
-- statements never wait for each other in a circle), the seats rejected orders gave back read
-- without a lock (a moment old, they only offer fewer). A concert sold out as this statement
-- began is not locked at all: its buyers are refused without queueing behind the statements that
-- filled it.
free AS (
  SELECT c.id AS concert_id, c.capacity - c.seats_claimed + coalesce(r.seats, 0) AS seats
    FROM concert c LEFT JOIN concert_seats_returned r ON r.concert_id = c.id
   WHERE c.id IN (SELECT concert_id FROM fresh) AND c.seats_claimed < c.capacity + coalesce(r.seats, 0)
   ORDER BY c.id FOR UPDATE OF c
),
-- First come, first served: a buyer is admitted if the seats of everyone before them in this
-- batch, and their own, fit in what is free.
admitted AS (
  SELECT ranked.* FROM (
    SELECT fresh.*, sum(quantity) OVER (PARTITION BY concert_id ORDER BY arrival) AS seats_so_far FROM fresh
  ) ranked JOIN free USING (concert_id)
   WHERE ranked.seats_so_far <= free.seats
),
placed AS (
  INSERT INTO "order" (id, concert_id, quantity, customer_email, amount_cents, idempotency_key, request_hash, pending_until, line_number)
  SELECT id, concert_id, quantity, customer_email, amount_cents, idempotency_key, request_hash, pending_until, nextval('order_line_number_seq')
    FROM admitted ORDER BY arrival
  ON CONFLICT (idempotency_key) DO NOTHING
  RETURNING id, concert_id, quantity, created_at, line_number
),
taken AS (
  SELECT concert_id, sum(quantity)::int AS seats FROM placed GROUP BY concert_id
),
claimed AS (
  UPDATE concert SET seats_claimed = seats_claimed + taken.seats FROM taken WHERE concert.id = taken.concert_id
),
queued AS (
  -- The transactional outbox, written as Outbox.add writes it, for the orders that went in and
  -- only those, in line order: one statement, so all of it commits or none of it does.
  ${Outbox.insertRowsFrom('SELECT input.outbox_row FROM input JOIN placed USING (id) ORDER BY placed.line_number')}
)
SELECT id::text AS id, created_at, line_number::float8 AS line_number, NULL::text AS concert_id, NULL::int AS seats_left FROM placed
UNION ALL
SELECT id::text, NULL, NULL, NULL, NULL FROM fresh WHERE id NOT IN (SELECT id FROM admitted)
UNION ALL
-- The seats each concert of the batch has left once this commits (none for one sold out already).
SELECT NULL, NULL, NULL, batch.concert_id::text, (coalesce(free.seats, 0) - coalesce(taken.seats, 0))::int
  FROM (SELECT DISTINCT concert_id FROM fresh) batch LEFT JOIN free USING (concert_id) LEFT JOIN taken USING (concert_id)`;

/** The lookup a buyer turned away from memory still needs: was their Idempotency-Key used by an earlier purchase? */
const KEYS_USED = `SELECT idempotency_key FROM "order" WHERE idempotency_key = ANY($1::text[])`;

/** What the last statement for a concert found: the seats it had left, and when. */
interface SeatsLeft {
  readonly seats: number;
  readonly atMs: number;
}

/**
 * Group commit for POST /orders. A purchase must be committed before it is answered 202, and a
 * commit per purchase makes a spike cost one transaction (four round trips, one WAL flush) per
 * buyer. Here the purchases that arrive while earlier statements run are written together by ONE
 * statement: every order row and its ChargeOrder outbox row, in a single implicit transaction,
 * so it is still all or nothing, and each buyer is answered only after that commit. The
 * Idempotency-Key's unique column decides repeats inside the statement (ON CONFLICT DO NOTHING).
 *
 * The same statement is the door of a sold-out sale: each order takes its seats from the
 * concert's count of seats claimed, in arrival order, and a buyer whose seats are not there is
 * turned away before any command, charge or mail exists for them (the waiting room,
 * docs/patterns/load-levelling.md). Seats come back when an order is rejected
 * (OrdersService.settleAll, into concert_seats_returned).
 *
 * Once a concert is sold out, the crowd that keeps coming is most of the work (in
 * bench:waiting-room, two buyers in three). Each statement says what its concerts have left, and
 * for SOLD_OUT_REMEMBERED_MS a buyer whose seats are not there is turned away from that memory
 * (`soldOutFor`): no order built, no command serialised, no statement. Only their Idempotency-Key
 * is looked up, with every key asked meanwhile in one query (`keyUsed`), so that a repeat of a
 * purchase made before is still answered with its order.
 *
 * See docs/patterns/load-levelling.md for what this buys, measured against a plain transaction
 * per request (tools/bench/ticket-sale.ts).
 */
@Injectable()
export class OrderPlacementGroupCommit {
  private readonly placements = new GroupCommit<Placement, Placed>((batch) => this.write(batch), {
    maxBatch: MAX_BATCH,
    maxInFlight: PLACEMENTS_IN_FLIGHT,
  });
  /** The same grouping for a read: one lookup at a time is plenty, each answers every key asked while the last one ran. */
  private readonly lookups = new GroupCommit<string, boolean>((keys) => this.lookUp(keys), { maxBatch: Infinity, maxInFlight: 1 });
  /** The Idempotency-Keys of the purchases waiting or in a statement: a repeat of one is no buyer to turn away from memory. */
  private readonly keysInFlight = new Map<string, number>();
  private readonly seatsLeft = new Map<string, SeatsLeft>();

  readonly counters = { statements: 0, placements: 0 };

  constructor(@Inject(SQL) private readonly sql: Sql) {}

  /** Resolves once the order and its command are committed, with 'sold out' when its seats are not there, or null for a key already used. */
  place(placement: Placement): Promise<Placed> {
    this.keysInFlight.set(placement.idempotencyKey, (this.keysInFlight.get(placement.idempotencyKey) ?? 0) + 1);
    return this.placements.submit(placement).finally(() => {
      const left = this.keysInFlight.get(placement.idempotencyKey)! - 1;
      if (left === 0) this.keysInFlight.delete(placement.idempotencyKey);
      else this.keysInFlight.set(placement.idempotencyKey, left);
    });
  }

  /**
   * Whether a buyer of `quantity` seats can be turned away without a statement: a statement less
   * than SOLD_OUT_REMEMBERED_MS ago left the concert fewer seats than that (others may have taken
   * more since; only a rejected order gives any back), and no purchase with this key is on its way.
   */
  soldOutFor(concertId: string, quantity: number, idempotencyKey: string): boolean {
    const left = this.seatsLeft.get(concertId);
    if (left === undefined) return false;
    if (performance.now() - left.atMs >= SOLD_OUT_REMEMBERED_MS) {
      this.seatsLeft.delete(concertId);
      return false;
    }
    return left.seats < quantity && !this.keysInFlight.has(idempotencyKey);
  }

  /** Whether an order was placed with this Idempotency-Key; asked together with the keys that come meanwhile. */
  keyUsed(idempotencyKey: string): Promise<boolean> {
    return this.lookups.submit(idempotencyKey);
  }

  private async lookUp(keys: ReadonlyArray<string>): Promise<boolean[]> {
    const rows = await this.sql.$queryRawUnsafe<Array<{ idempotency_key: string }>>(KEYS_USED, keys);
    const used = new Set(rows.map((row) => row.idempotency_key));
    return keys.map((key) => used.has(key));
  }

  private async write(batch: ReadonlyArray<Placement>): Promise<Placed[]> {
    const rows = batch.map((p, arrival) => ({
      arrival,
      id: p.id,
      concert_id: p.concertId,
      quantity: p.quantity,
      customer_email: p.customerEmail,
      amount_cents: p.amountCents,
      idempotency_key: p.idempotencyKey,
      request_hash: p.requestHash,
      pending_until: p.pendingUntil,
      outbox_row: Outbox.row(p.command.envelope, p.command.destination),
    }));
    // Nothing of the batch is written if this fails; each buyer gets the error and may retry with its key.
    const answers = await this.sql.$queryRawUnsafe<
      Array<{
        id: string | null;
        created_at: Date | null;
        line_number: number | null;
        concert_id: string | null;
        seats_left: number | null;
      }>
    >(PLACE, JSON.stringify(rows));
    this.counters.statements += 1;
    const atMs = performance.now();
    const placed = new Map<string, Placed>();
    for (const row of answers) {
      if (row.concert_id !== null) this.seatsLeft.set(row.concert_id, { seats: row.seats_left!, atMs });
      else if (row.created_at && row.line_number !== null) placed.set(row.id!, { createdAt: row.created_at, lineNumber: row.line_number });
      else placed.set(row.id!, 'sold out');
    }
    this.counters.placements += answers.filter((row) => row.created_at).length;
    return batch.map((placement) => placed.get(placement.id) ?? null);
  }
}
