import { describeError, uuidV7, withinTimeLimit, type Clock } from '@boxoffice/messaging';
import { SQL, type Sql } from '@boxoffice/platform';
import { Inject, Injectable, Logger } from '@nestjs/common';
import { BILLING_CLOCK } from '../billing.config.js';
import type { Tx } from '../database.js';
import { PAYMENT_GATEWAY, type PaymentGateway } from './payment-gateway.port.js';

/** An authorization a charge may use: a hold to capture, or the provider's decline. */
export interface Hold {
  readonly paymentId: string;
  readonly orderId: string;
  readonly status: 'HELD' | 'DECLINED';
  readonly declineReason: string | null;
}

/** What a charge decided for the holds it locked. */
export interface HoldDecisions {
  readonly capture: ReadonlyArray<string>;
  readonly release: ReadonlyArray<string>;
  /** Declines its charges read: nothing to do at the provider, the rows go. */
  readonly consumed: ReadonlyArray<string>;
}

/**
 * How long a hold may wait for a charge to take it: longer than a batch can take from its
 * `prepare` to the lock of its holds (a connection's wait, 30 s, and the transaction, 60 s at
 * most; see ConsumerPipeline). A hold no charge took by then (its batch rolled back, went to
 * another instance, or its process died) is voided. Taking one that late is safe all the same:
 * the lock decides, and a charge that finds its hold voided authorizes again.
 */
const HOLD_GRACE_MS = 120_000;

/**
 * How long Billing waits for the provider to answer one authorization. Past it the call is given
 * up (its hold decided TO_VOID, in case the provider did hold the money), and an AUTHORIZING row
 * older than it belongs to a call nobody waits for any more: its process died mid-call. Either way
 * the order may be authorized anew at once, so the job's next attempt charges it instead of
 * finding an authorization under way until its retries run out.
 */
export const AUTHORIZATION_TIMEOUT_MS = 5_000;

/**
 * Billing's ledger of payment holds, so that none leaks. A hold is money held on a buyer's card:
 * one that is neither captured nor voided stays held until the provider lets it expire, days
 * later. Kept in a process' memory, a hold is lost whenever its batch does not commit there (a
 * duplicate or a retry taken by another instance, a rolled-back or dead-lettered batch, a stop).
 *
 * So every hold is a row, written before the provider is asked:
 *   1. `authorizeAll` (before a batch's transaction) records AUTHORIZING rows, asks the provider
 *      for all of them at once, and records its answers (HELD or DECLINED);
 *   2. the batch's transaction locks the holds of its orders (`lockUsable`), whoever authorized
 *      them, and `decide`s with the charge: TO_CAPTURE the one a captured charge took, TO_VOID
 *      every other; both commit with the charge, or neither does;
 *   3. `carryOutDecided` (after each commit, and every BILLING_SWEEP_INTERVAL_MS) asks the
 *      provider for what was decided and deletes the rows it did; `giveUpStale` decides TO_VOID
 *      the holds no charge took within HOLD_GRACE_MS. A refund is decided the same way, with the
 *      charge's change (`refund`).
 * The provider's calls are idempotent per payment id, so one asked twice (a crash between the
 * call and the delete) does it once.
 */
@Injectable()
export class PaymentHoldLedger {
  private readonly logger = new Logger(PaymentHoldLedger.name);

  constructor(
    @Inject(PAYMENT_GATEWAY) private readonly gateway: PaymentGateway,
    @Inject(SQL) private readonly sql: Sql,
    @Inject(BILLING_CLOCK) private readonly clock: Clock,
  ) {}

  /**
   * Authorizes the payments of these orders, all at once, each recorded before it is asked.
   * Outside any transaction: the provider's latency is paid once per batch, never while seat
   * rows are locked. An order that has a hold, a decline or an authorization under way already
   * (a redelivery, a duplicate on another instance) is not asked again: its charge takes that
   * one. A call that fails, or outlasts AUTHORIZATION_TIMEOUT_MS, is decided TO_VOID, as is an
   * authorization of these orders left under way that long (its instance died mid-call).
   */
  async authorizeAll(requests: ReadonlyArray<{ orderId: string; amountCents: number }>): Promise<void> {
    if (requests.length === 0) return;
    const recorded = await this.record(requests);
    // An order whose insert did nothing has a live hold already. If that is an authorization its
    // instance abandoned (rare: the hot path pays nothing for it), it is given up and asked anew.
    const taken = new Set(recorded.map((row) => row.order_id));
    const abandoned = await this.giveUpAbandoned(requests.filter((request) => !taken.has(request.orderId)));
    if (abandoned.size > 0) recorded.push(...(await this.record(requests.filter((request) => abandoned.has(request.orderId)))));
    const holds = recorded.map((row) => ({ paymentId: row.payment_id, orderId: row.order_id, amountCents: row.amount_cents }));
    if (holds.length === 0) return;
    // A time limit that is cleared with the answer: an AbortSignal.timeout fired for every call
    // seconds later and built a DOMException each time (0.4 s of Billing's CPU in a sale).
    const answers = await Promise.allSettled(
      holds.map((hold) =>
        withinTimeLimit(
          this.gateway.authorize(hold),
          AUTHORIZATION_TIMEOUT_MS,
          () => new Error(`no answer within ${AUTHORIZATION_TIMEOUT_MS} ms`),
        ),
      ),
    );
    const outcomes = holds.map((hold, i) => {
      const answer = answers[i];
      // No answer: the provider may hold the money or not; voiding is idempotent, so give it back.
      if (answer.status === 'rejected') return { paymentId: hold.paymentId, status: 'TO_VOID', reason: null };
      return {
        paymentId: hold.paymentId,
        status: answer.value.approved ? 'HELD' : 'DECLINED',
        reason: answer.value.approved ? null : answer.value.reason,
      };
    });
    // Still AUTHORIZING only: a provider so slow that the sweep gave the hold up meanwhile keeps it
    // given up. An order charged meanwhile needs no hold: another instance took the same job
    // (a duplicate) and committed between this one's look for a charge and its insert, so this
    // hold is given back now, not at the stale sweep's HOLD_GRACE_MS.
    // The holds by their keys (`= ANY`, the primary key), not by status: every hold passes through
    // AUTHORIZING, so until a vacuum that index holds an entry for each one ever made, and a sale
    // leaves tens of thousands for every batch's lookup to walk.
    await this.sql.$executeRawUnsafe(
      `UPDATE payment_hold
          SET status = (CASE WHEN o.status = 'HELD' AND EXISTS (SELECT 1 FROM charge c WHERE c.order_id = payment_hold.order_id)
                             THEN 'TO_VOID' ELSE o.status END)::payment_hold_status,
              decline_reason = o.reason, updated_at = $2::timestamptz
         FROM json_to_recordset($1::json) AS o("paymentId" uuid, status text, reason text)
        WHERE payment_hold.payment_id = ANY($3::uuid[]) AND payment_hold.payment_id = o."paymentId" AND payment_hold.status = 'AUTHORIZING'`,
      JSON.stringify(outcomes),
      this.now(),
      outcomes.map((outcome) => outcome.paymentId),
    );
  }

  /**
   * Locks the holds and declines of these orders, newest first, in the charge's transaction. A
   * hold being given up or taken by a concurrent charge is not returned (it is no longer HELD
   * once that commits), so each hold is decided once.
   */
  async lockUsable(tx: Tx, orderIds: ReadonlyArray<string>): Promise<Map<string, Hold[]>> {
    const rows = await tx.$queryRawUnsafe<
      Array<{ payment_id: string; order_id: string; status: 'HELD' | 'DECLINED'; decline_reason: string | null }>
    >(
      `SELECT payment_id::text, order_id::text, status::text, decline_reason FROM payment_hold
        WHERE order_id = ANY($1::uuid[]) AND status IN ('HELD', 'DECLINED')
        ORDER BY updated_at DESC, payment_id DESC FOR UPDATE`,
      orderIds,
    );
    const holds = new Map<string, Hold[]>();
    for (const row of rows) {
      const hold = { paymentId: row.payment_id, orderId: row.order_id, status: row.status, declineReason: row.decline_reason };
      holds.set(row.order_id, [...(holds.get(row.order_id) ?? []), hold]);
    }
    return holds;
  }

  /** Records, in the charge's transaction, what becomes of the holds it locked. */
  async decide(tx: Tx, { capture, release, consumed }: HoldDecisions): Promise<void> {
    const decided = [
      ...capture.map((paymentId) => ({ paymentId, status: 'TO_CAPTURE' })),
      ...release.map((paymentId) => ({ paymentId, status: 'TO_VOID' })),
    ];
    if (decided.length > 0) {
      await tx.$executeRawUnsafe(
        `UPDATE payment_hold SET status = d.status::payment_hold_status, updated_at = $2::timestamptz
           FROM json_to_recordset($1::json) AS d("paymentId" uuid, status text) WHERE payment_hold.payment_id = d."paymentId"`,
        JSON.stringify(decided),
        this.now(),
      );
    }
    if (consumed.length > 0) {
      await tx.$executeRawUnsafe(`DELETE FROM payment_hold WHERE payment_id = ANY($1::uuid[])`, consumed);
    }
  }

  /**
   * Decides, in the refund's transaction, that a captured payment goes back: a capture not done
   * yet is voided instead; one done (its row gone) is refunded. A capture under way holds its
   * row's lock, so this waits for it and then sees which of the two it is.
   */
  async refund(tx: Tx, payment: { paymentId: string; orderId: string; amountCents: number }): Promise<void> {
    const voided = await tx.$executeRawUnsafe(
      `UPDATE payment_hold SET status = 'TO_VOID', updated_at = $2::timestamptz WHERE payment_id = $1::uuid AND status = 'TO_CAPTURE'`,
      payment.paymentId,
      this.now(),
    );
    if (voided > 0) return;
    await tx.$executeRawUnsafe(
      `INSERT INTO payment_hold (payment_id, order_id, amount_cents, status, updated_at)
       VALUES ($1::uuid, $2::uuid, $3, 'TO_REFUND', $4::timestamptz) ON CONFLICT (payment_id) DO NOTHING`,
      payment.paymentId,
      payment.orderId,
      payment.amountCents,
      this.now(),
    );
  }

  /**
   * Gives up to `limit` holds that no charge took within HOLD_GRACE_MS (TO_VOID), and forgets the
   * declines no charge read. Rows are taken SKIP LOCKED: a charge holding one decides it itself.
   */
  async giveUpStale(limit: number): Promise<void> {
    const stale = new Date(this.clock.now().getTime() - HOLD_GRACE_MS).toISOString();
    await this.sql.$executeRawUnsafe(
      `UPDATE payment_hold SET status = 'TO_VOID', updated_at = $1::timestamptz
        WHERE payment_id IN (SELECT payment_id FROM payment_hold WHERE status IN ('AUTHORIZING', 'HELD') AND updated_at <= $2::timestamptz
                              ORDER BY updated_at LIMIT $3 FOR UPDATE SKIP LOCKED)`,
      this.now(),
      stale,
      limit,
    );
    await this.sql.$executeRawUnsafe(
      `DELETE FROM payment_hold
        WHERE payment_id IN (SELECT payment_id FROM payment_hold WHERE status = 'DECLINED' AND updated_at <= $1::timestamptz LIMIT $2 FOR UPDATE SKIP LOCKED)`,
      stale,
      limit,
    );
  }

  /**
   * Asks the provider for up to `limit` of the calls decided (capture, void, refund), and deletes
   * each row whose call succeeded; a failed one is asked again in a later round, after the others.
   * Rows are taken SKIP LOCKED, so instances doing this at once share the work. Returns how many
   * were done.
   */
  async carryOutDecided(limit: number): Promise<number> {
    // The row locks are held while the provider is asked: a refund deciding on a capture under way waits for it (`refund`).
    return this.sql.$transaction(
      async (tx) => {
        const due = await tx.$queryRawUnsafe<Array<{ payment_id: string; status: 'TO_CAPTURE' | 'TO_VOID' | 'TO_REFUND' }>>(
          `SELECT payment_id::text, status::text FROM payment_hold WHERE status IN ('TO_CAPTURE', 'TO_VOID', 'TO_REFUND')
            ORDER BY updated_at LIMIT $1 FOR UPDATE SKIP LOCKED`,
          limit,
        );
        if (due.length === 0) return 0;
        const calls = await Promise.allSettled(due.map(({ payment_id, status }) => this.carryOut(payment_id, status)));
        const done = due.filter((_, i) => calls[i].status === 'fulfilled').map(({ payment_id }) => payment_id);
        const failed = due.filter((_, i) => calls[i].status === 'rejected').map(({ payment_id }) => payment_id);
        calls.forEach((call, i) => {
          if (call.status === 'rejected')
            this.logger.warn(`${due[i].status} ${due[i].payment_id} failed (${describeError(call.reason)}); again next round`);
        });
        if (done.length > 0) await tx.$executeRawUnsafe(`DELETE FROM payment_hold WHERE payment_id = ANY($1::uuid[])`, done);
        // To the back of the line: a call that keeps failing does not hold up the others.
        if (failed.length > 0)
          await tx.$executeRawUnsafe(
            `UPDATE payment_hold SET updated_at = $2::timestamptz WHERE payment_id = ANY($1::uuid[])`,
            failed,
            this.now(),
          );
        return done.length;
      },
      { timeout: 30_000 },
    );
  }

  private carryOut(paymentId: string, status: 'TO_CAPTURE' | 'TO_VOID' | 'TO_REFUND'): Promise<void> {
    if (status === 'TO_CAPTURE') return this.gateway.capture(paymentId);
    if (status === 'TO_VOID') return this.gateway.void(paymentId);
    return this.gateway.refund(paymentId);
  }

  /** Records AUTHORIZING rows for the orders without a live hold; returns those it recorded. */
  private record(requests: ReadonlyArray<{ orderId: string; amountCents: number }>) {
    return this.sql.$queryRawUnsafe<Array<{ payment_id: string; order_id: string; amount_cents: number }>>(
      `INSERT INTO payment_hold (payment_id, order_id, amount_cents, status, updated_at)
       SELECT h."paymentId", h."orderId", h."amountCents", 'AUTHORIZING', $2::timestamptz
         FROM json_to_recordset($1::json) AS h("paymentId" uuid, "orderId" uuid, "amountCents" int)
       -- One live hold per order (payment_hold_live_order_idx): an insert racing another waits for it, then does nothing.
       ON CONFLICT (order_id) WHERE status IN ('AUTHORIZING', 'HELD', 'DECLINED') DO NOTHING
       RETURNING payment_id::text, order_id::text, amount_cents`,
      JSON.stringify(requests.map((request) => ({ paymentId: uuidV7(), ...request }))),
      this.now(),
    );
  }

  /** Decides TO_VOID the authorizations of these orders under way for AUTHORIZATION_TIMEOUT_MS or more; returns their orders. */
  private async giveUpAbandoned(requests: ReadonlyArray<{ orderId: string }>): Promise<Set<string>> {
    if (requests.length === 0) return new Set();
    const rows = await this.sql.$queryRawUnsafe<Array<{ order_id: string }>>(
      `UPDATE payment_hold SET status = 'TO_VOID', updated_at = $2::timestamptz
        WHERE order_id = ANY($1::uuid[])
          AND status = 'AUTHORIZING' AND updated_at <= $3::timestamptz
       RETURNING order_id::text`,
      requests.map((request) => request.orderId),
      this.now(),
      new Date(this.clock.now().getTime() - AUTHORIZATION_TIMEOUT_MS).toISOString(),
    );
    return new Set(rows.map((row) => row.order_id));
  }

  private now(): string {
    return this.clock.now().toISOString();
  }
}
