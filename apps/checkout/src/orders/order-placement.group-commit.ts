import { Outbox, type OutboxEntry } from '@boxoffice/messaging';
import { PRISMA } from '@boxoffice/platform';
import { Inject, Injectable } from '@nestjs/common';
import type { PrismaClient } from '../database.js';

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

/** When the row went in; null when the Idempotency-Key was there already (in the table, or earlier in the same batch). */
export type Placed = { readonly createdAt: Date } | null;

/**
 * Batches beyond this gain little: the statement is already one round trip, and a batch's
 * buyers all wait for its slowest part.
 */
const MAX_BATCH = 250;
/**
 * Statements in flight at once. While they run, new purchases gather into the next batch, so
 * batches grow with the load by themselves: one purchase alone is written at once, a spike is
 * written a few hundred rows per commit. Kept well below the Prisma pool (20), which also serves
 * order reads and the settling of payment results.
 */
const MAX_IN_FLIGHT = 4;

const PLACE = `
WITH input AS (
  SELECT * FROM jsonb_to_recordset($1::jsonb) AS t(
    id uuid, concert_id uuid, quantity int, customer_email text, amount_cents int,
    idempotency_key text, request_hash text, pending_until timestamptz, outbox_row jsonb)
),
placed AS (
  INSERT INTO "order" (id, concert_id, quantity, customer_email, amount_cents, idempotency_key, request_hash, pending_until)
  SELECT id, concert_id, quantity, customer_email, amount_cents, idempotency_key, request_hash, pending_until FROM input
  ON CONFLICT (idempotency_key) DO NOTHING
  RETURNING id, created_at
),
queued AS (
  -- The transactional outbox, written as Outbox.add writes it, for the orders that went in and
  -- only those: one statement, so both commit or neither does.
  ${Outbox.insertRowsFrom('SELECT input.outbox_row FROM input JOIN placed USING (id)')}
)
SELECT id::text AS id, created_at FROM placed`;

interface Waiting {
  readonly placement: Placement;
  readonly resolve: (placed: Placed) => void;
  readonly reject: (error: unknown) => void;
}

/**
 * Group commit for POST /orders. A purchase must be committed before it is answered 202, and a
 * commit per purchase makes a spike cost one transaction (four round trips, one WAL flush) per
 * buyer. Here the purchases that arrive while earlier statements run are written together by ONE
 * statement: every order row and its ChargeOrder outbox row, in a single implicit transaction,
 * so it is still all or nothing, and each buyer is answered only after that commit. The
 * Idempotency-Key's unique column decides repeats inside the statement (ON CONFLICT DO NOTHING).
 *
 * See docs/patterns/load-levelling.md for what this buys, measured against a plain transaction
 * per request (tools/bench/ticket-sale.ts).
 */
@Injectable()
export class OrderPlacementGroupCommit {
  private readonly waiting: Waiting[] = [];
  private inFlight = 0;

  readonly counters = { statements: 0, placements: 0 };

  constructor(@Inject(PRISMA) private readonly prisma: PrismaClient) {}

  /** Resolves once the order and its command are committed, or with null for a key already used. */
  place(placement: Placement): Promise<Placed> {
    return new Promise((resolve, reject) => {
      this.waiting.push({ placement, resolve, reject });
      this.flushWhilePossible();
    });
  }

  private flushWhilePossible(): void {
    while (this.inFlight < MAX_IN_FLIGHT && this.waiting.length > 0) {
      const batch = this.waiting.splice(0, MAX_BATCH);
      this.inFlight += 1;
      void this.write(batch).finally(() => {
        this.inFlight -= 1;
        this.flushWhilePossible();
      });
    }
  }

  private async write(batch: Waiting[]): Promise<void> {
    const rows = batch.map(({ placement: p }) => ({
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
    try {
      const placed = await this.prisma.$queryRawUnsafe<Array<{ id: string; created_at: Date }>>(PLACE, JSON.stringify(rows));
      this.counters.statements += 1;
      this.counters.placements += placed.length;
      const createdAt = new Map(placed.map((row) => [row.id, row.created_at]));
      for (const { placement, resolve } of batch) {
        const at = createdAt.get(placement.id);
        resolve(at ? { createdAt: at } : null);
      }
    } catch (error) {
      // Nothing of the batch was written; each buyer gets the error and may retry with its key.
      for (const { reject } of batch) reject(error);
    }
  }
}
