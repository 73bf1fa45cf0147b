// The ledgers of a chaos cell, reconciled once everything has settled: what the clients were
// told against what the services stored, charged, sold, mailed and audited. A ledger is a count
// that must be 0; the figures beside them say what happened.
import type { ReceivedMail } from '@boxoffice/testing';
import { waitFor } from '@boxoffice/testing';
import type pg from 'pg';
import type { FlowTally } from './chaos.flow.ts';

/** Counts that must all be 0 for the cell to pass. */
export interface Ledgers {
  /** Orders answered 202 that Checkout does not have. */
  readonly lost: number;
  /** Charges beyond one per order. */
  readonly doubleCharges: number;
  /** Money captured for an order that is not confirmed, and confirmed orders with no captured charge. */
  readonly chargedNotConfirmed: number;
  readonly confirmedNotCharged: number;
  /** Seats sold beyond capacity, and seats sold that no confirmed order holds (or the reverse). */
  readonly oversold: number;
  readonly seatsAdrift: number;
  /** The same mail (Message-ID) delivered more than once at the SMTP server, and mails never delivered. */
  readonly duplicateMails: number;
  readonly missingMails: number;
  /** Orders still PENDING at the end of the settle window: past any deadline. */
  readonly pendingPastDeadline: number;
  /** Client attempts without an HTTP answer while Checkout was running, and requests the flow gave up on. */
  readonly noAnswer: number;
  readonly gaveUp: number;
  /** Sign-ups answered 202 that Checkout does not have. */
  readonly usersLost: number;
  /** Events published that Audit did not record. */
  readonly auditMissing: number;
  /** Outbox rows still pending (the poison row excepted: it is counted in the next two). */
  readonly outboxPending: number;
  /** Parked outbox rows that were not the fault's poison, and poison rows that did not end parked. */
  readonly unexpectedParked: number;
  readonly poisonNotParked: number;
}

export interface Reconciliation {
  readonly ledgers: Ledgers;
  /** The names of the ledgers that are not 0. */
  readonly failures: string[];
  /** What happened, for the reader: accepted, confirmed, timed out, mails, answers by kind. */
  readonly figures: Record<string, unknown>;
}

type Db = (service: string) => pg.Pool;
const one = async (db: Db, service: string, sql: string, values: unknown[] = []) =>
  (await db(service).query(sql, values)).rows[0] as Record<string, number>;
const ids = async (db: Db, service: string, sql: string) => new Set((await db(service).query(sql)).rows.map((row) => row.id as string));

/** Outbox rows in `status` in Checkout's and Billing's outboxes, but those of `except`. */
const outboxes = async (db: Db, status: string, except: ReadonlyArray<string> = []) => {
  let rows = 0;
  for (const service of ['checkout', 'billing'])
    rows += (
      await one(db, service, 'SELECT count(*)::int AS n FROM outbox_message WHERE status = $1 AND id <> ALL($2::uuid[])', [status, except])
    ).n;
  return rows;
};

/** The events Audit must hold: ConcertScheduled, a payment verdict and a settlement per order settled, a UserRegistered per sign-up. */
function eventsExpectedOf(settledOrders: number, users: number): number {
  return 1 + 2 * settledOrders + users;
}

/**
 * Waits until every order is settled, every mail recorded and tried, every event audited and
 * every outbox drained, for `timeoutMs` at most; says whether that happened (the ledgers tell
 * what did not).
 */
export async function settle(db: Db, timeoutMs: number): Promise<boolean> {
  try {
    await waitFor(
      async () => ({
        orders: await one(
          db,
          'checkout',
          `SELECT count(*)::int AS n, count(*) FILTER (WHERE status = 'PENDING')::int AS pending FROM "order"`,
        ),
        users: (await one(db, 'checkout', 'SELECT count(*)::int AS n FROM "user"')).n,
        mails: await one(
          db,
          'email',
          `SELECT count(*)::int AS n, count(*) FILTER (WHERE status = 'SENDING')::int AS unsent FROM sent_email`,
        ),
        outboxes: await outboxes(db, 'pending'),
        audited: (await one(db, 'audit', 'SELECT count(*)::int AS n FROM audit_log')).n,
      }),
      // Audit too: a reader still catching up after a fault is late, not short, and the settle
      // window is its deadline (the events it must hold, as reconcile counts them).
      (s) =>
        s.orders.pending === 0 &&
        s.mails.n >= s.orders.n + s.users &&
        s.mails.unsent === 0 &&
        s.outboxes === 0 &&
        s.audited >= eventsExpectedOf(s.orders.n - s.orders.pending, s.users),
      { timeoutMs, intervalMs: 500, description: 'every order settled, every mail sent, every event audited, every outbox empty' },
    );
    return true;
  } catch {
    return false;
  }
}

export async function reconcile(
  db: Db,
  flow: FlowTally,
  mails: ReadonlyArray<ReceivedMail>,
  poisonIds: ReadonlyArray<string>,
): Promise<Reconciliation> {
  const orders = await one(
    db,
    'checkout',
    `SELECT count(*)::int AS found,
      count(*) FILTER (WHERE status = 'CONFIRMED')::int AS confirmed,
      count(*) FILTER (WHERE status = 'REJECTED')::int AS rejected,
      count(*) FILTER (WHERE rejection_reason::text = 'TIMED_OUT')::int AS "timedOut",
      coalesce(sum(quantity) FILTER (WHERE status = 'CONFIRMED'), 0)::int AS seats
     FROM "order" WHERE id = ANY($1::uuid[])`,
    [flow.accepted],
  );
  const everyOrder = await one(
    db,
    'checkout',
    `SELECT count(*)::int AS n, count(*) FILTER (WHERE status = 'PENDING')::int AS pending,
      coalesce(sum(quantity) FILTER (WHERE status = 'CONFIRMED'), 0)::int AS seats FROM "order"`,
  );
  const users = await one(db, 'checkout', 'SELECT count(*)::int AS n, count(*) FILTER (WHERE email = ANY($1))::int AS signed FROM "user"', [
    flow.signedUp,
  ]);
  const charges = await one(db, 'billing', 'SELECT count(*)::int AS n, count(DISTINCT order_id)::int AS orders FROM charge');
  const captured = await ids(db, 'billing', `SELECT order_id AS id FROM charge WHERE status = 'CAPTURED'`);
  const confirmed = await ids(db, 'checkout', `SELECT id FROM "order" WHERE status = 'CONFIRMED'`);
  const seats = await one(
    db,
    'billing',
    'SELECT coalesce(sum(seats_sold), 0)::int AS sold, coalesce(sum(capacity), 0)::int AS capacity FROM seat_inventory',
  );
  const mailsParked = (await one(db, 'email', `SELECT count(*)::int AS n FROM sent_email WHERE status::text = 'PARKED'`)).n;
  const audit = (await one(db, 'audit', 'SELECT count(*)::int AS n FROM audit_log')).n;
  const poison = await db('checkout').query<{ status: string }>('SELECT status FROM outbox_message WHERE id = ANY($1::uuid[])', [
    poisonIds,
  ]);
  const poisonParked = poison.rows.filter((row) => row.status === 'parked').length;

  const distinctMails = new Set(mails.map((mail) => mail.messageId)).size;
  const seen = new Set<string>();
  const duplicated = mails.filter((mail) => seen.has(mail.messageId) || (seen.add(mail.messageId), false));
  // Every order settled is mailed (confirmed or rejected), and every sign-up welcomed.
  const mailsExpected = everyOrder.n - everyOrder.pending + users.n;
  const eventsExpected = eventsExpectedOf(everyOrder.n - everyOrder.pending, users.n);

  const ledgers: Ledgers = {
    lost: flow.accepted.length - orders.found,
    doubleCharges: charges.n - charges.orders,
    chargedNotConfirmed: [...captured].filter((id) => !confirmed.has(id)).length,
    confirmedNotCharged: [...confirmed].filter((id) => !captured.has(id)).length,
    oversold: Math.max(0, seats.sold - seats.capacity),
    seatsAdrift: Math.abs(seats.sold - everyOrder.seats),
    duplicateMails: mails.length - distinctMails,
    missingMails: Math.max(0, mailsExpected - distinctMails),
    pendingPastDeadline: everyOrder.pending,
    noAnswer: flow.noAnswer,
    gaveUp: flow.gaveUp,
    usersLost: flow.signedUp.length - users.signed,
    auditMissing: Math.max(0, eventsExpected - audit),
    outboxPending: await outboxes(db, 'pending', poisonIds),
    unexpectedParked: await outboxes(db, 'parked', poisonIds),
    poisonNotParked: poisonIds.length - poisonParked,
  };
  const figures = {
    accepted: flow.accepted.length,
    confirmed: orders.confirmed,
    rejected: orders.rejected,
    timedOut: orders.timedOut,
    seatsSold: seats.sold,
    capacity: seats.capacity,
    signUps: flow.signedUp.length,
    mailsReceived: mails.length,
    mailsExpected,
    mailsParked,
    // A few of the mails delivered twice, to look them up in Email's sent_email.
    duplicatedMails: duplicated.slice(0, 5).map((mail) => `${mail.messageId} ${mail.subject}`),
    auditEntries: audit,
    poisonParked,
    answered503WithRetryAfter: flow.retryAfter503,
    answered503WithoutRetryAfter: flow.without503RetryAfter,
    otherStatuses: flow.otherStatuses,
    noAnswerKinds: flow.noAnswerKinds,
    noAnswerSentAt: flow.noAnswerSentAt,
    noAnswerWhileCheckoutDown: flow.noAnswerWhileDown,
  };
  return { ledgers, failures: Object.entries(ledgers).flatMap(([name, n]) => (n === 0 ? [] : [name])), figures };
}
