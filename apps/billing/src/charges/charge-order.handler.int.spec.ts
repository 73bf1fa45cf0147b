import { afterAll, beforeAll, beforeEach, describe, expect, it, jest } from '@jest/globals';
import { ChargeOrder, ConcertScheduled, RefundPayment, type Envelope, type PayloadOf } from '@boxoffice/contracts';
import {
  ConsumerPipeline,
  EnvelopeFactory,
  MessageSender,
  Routing,
  uuidV7,
  type Clock,
  type InboundMessage,
  type Settlement,
  type SqlExecutor,
  type TransactionRunner,
} from '@boxoffice/messaging';
import { createServiceDatabase, type Sql } from '@boxoffice/platform';
import { createMigratedTestDatabase, waitFor, type TestDatabase } from '@boxoffice/testing';
import { randomUUID } from 'node:crypto';
import { billingConfigSchema } from '../billing.config.js';
import { PrismaClient } from '../generated/prisma/client.js';
import { ConcertScheduledHandler } from '../inventory/concert-scheduled.handler.js';
import { SeatInventory } from '../inventory/seat-inventory.js';
import { ChargeJobsCounter } from './charge-jobs.counter.js';
import { ChargeOrderHandler } from './charge-order.handler.js';
import { ChargeService, UnknownConcertError } from './charge.service.js';
import { ChargeSweeper } from './charge.sweeper.js';
import type { PaymentGateway } from './payment-gateway.port.js';
import { AUTHORIZATION_TIMEOUT_MS, PaymentHoldLedger } from './payment-hold.ledger.js';
import { RefundPaymentHandler } from './refund-payment.handler.js';
import { SimulatedPaymentGateway } from './simulated-payment-gateway.js';
import { SyncChargeBatches } from './sync-charge.batches.js';
import { WaitingChargeStore } from './waiting-charge.store.js';

// Billing's handlers as its consumer pipeline runs them (inbox, handlers, outbox, one
// transaction per batch), against Billing's real database, with the simulated payment provider
// and a clock of the spec's own. The broker is left out: each delivery is handed to the pipeline
// as a transport would hand it. Two "instances" are two pipelines, each with its own connections,
// ledger and sweeper, in front of one payment provider.

const queue = { ordered: false, exclusive: true };
const topic = { ordered: true, exclusive: false };

describe('charging orders, against deadlines, late concerts and leaking holds', () => {
  let db: TestDatabase;
  const databases: Array<{ close(): Promise<void> }> = [];
  const clock: Clock & { at: Date } = { at: new Date('2027-03-01T20:00:00Z'), now: () => clock.at };
  const checkout = new EnvelopeFactory('checkout', clock);
  const config = billingConfigSchema.parse({ BILLING_SWEEP_INTERVAL_MS: '60000' });
  let provider: SimulatedPaymentGateway;
  let decline = false;
  let billing: Instance;

  /** One Billing instance: its pipeline, and its sweeper to run by hand. */
  interface Instance {
    readonly pipeline: ConsumerPipeline<SqlExecutor>;
    readonly sweeper: ChargeSweeper;
    readonly handler: ChargeOrderHandler;
    readonly prisma: PrismaClient;
    /** The same pool's node-postgres, as the service injects it (SQL). */
    readonly sql: Sql;
    readonly charges: ChargeService;
    /** POST /charges' group commit. */
    readonly syncBatches: SyncChargeBatches;
  }

  /** `database`: what runs its batches' transactions, when not its node-postgres (as in the service). */
  function instance(database?: () => TransactionRunner<SqlExecutor>): Instance {
    const own = createServiceDatabase(PrismaClient, db.url, 4);
    const { prisma, sql } = own;
    databases.push(own);
    const sender = new MessageSender(new EnvelopeFactory('billing', clock), new Routing());
    const holds = new PaymentHoldLedger(provider, sql, clock);
    const waiting = new WaitingChargeStore(sql, sender, clock);
    const charges = new ChargeService(holds, sql, clock);
    const sweeper = new ChargeSweeper(holds, waiting, config);
    const handler = new ChargeOrderHandler(charges, waiting, sweeper, new ChargeJobsCounter(), config);
    const pipeline = new ConsumerPipeline<SqlExecutor>({
      consumer: 'billing',
      handlers: [
        { message: ChargeOrder, handler },
        { message: RefundPayment, handler: new RefundPaymentHandler(charges, sweeper) },
        { message: ConcertScheduled, handler: new ConcertScheduledHandler(new SeatInventory(), waiting) },
      ],
      database: database?.() ?? sql,
      sender,
      clock,
    });
    const syncBatches = new SyncChargeBatches(sql, charges, sender, sweeper);
    return { pipeline, sweeper, handler, prisma, sql, charges, syncBatches };
  }

  const inbound = (envelope: Envelope): InboundMessage => ({ body: JSON.stringify(envelope), headers: {} });
  const work = (on: Instance, ...envelopes: Envelope[]) => on.pipeline.process('billing.charge-order', envelopes.map(inbound), queue);
  const announce = (on: Instance, envelope: Envelope) => on.pipeline.process('boxoffice.concerts', [inbound(envelope)], topic);

  async function concert(capacity = 100): Promise<Envelope<PayloadOf<typeof ConcertScheduled>>> {
    return checkout.create(ConcertScheduled, {
      concertId: randomUUID(),
      name: 'Night Shift',
      startsAt: '2027-03-02T20:00:00Z',
      capacity,
      priceCents: 4500,
    });
  }
  async function scheduled(capacity = 100): Promise<string> {
    const envelope = await concert(capacity);
    await announce(billing, envelope);
    return envelope.payload.concertId;
  }
  /** A ChargeOrder as Checkout sends it: to be charged within `withinMs` of now. */
  const chargeOrder = (concertId: string, withinMs = 540_000, quantity = 2) =>
    checkout.create(ChargeOrder, {
      orderId: uuidV7(),
      concertId,
      quantity,
      customerEmail: 'buyer@example.com',
      chargeBy: new Date(clock.at.getTime() + withinMs).toISOString(),
    });
  const later = (ms: number) => (clock.at = new Date(clock.at.getTime() + ms));

  const chargesOf = async (orderId: string) =>
    (
      await db.pool.query<{ id: string; status: string; amount_cents: number }>(
        `SELECT id::text, status::text, amount_cents FROM charge WHERE order_id = $1`,
        [orderId],
      )
    ).rows;
  const seatsSold = async (concertId: string) =>
    (await db.pool.query<{ n: number }>(`SELECT seats_sold AS n FROM seat_inventory WHERE concert_id = $1`, [concertId])).rows[0].n;
  const sent = async (type: string, orderId: string) =>
    (
      await db.pool.query<{ envelope: Envelope<Record<string, unknown>> }>(
        `SELECT envelope FROM outbox_message WHERE type = $1 AND envelope->'payload'->>'orderId' = $2 ORDER BY position`,
        [type, orderId],
      )
    ).rows.map((row) => row.envelope);
  const holdRows = async () => (await db.pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM payment_hold`)).rows[0].n;
  const waitingRows = async () => (await db.pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM waiting_charge`)).rows[0].n;

  beforeAll(async () => {
    db = await createMigratedTestDatabase('charges', 'apps/billing/prisma/migrations');
  });
  beforeEach(async () => {
    // Each case counts its own holds, on a provider of its own.
    await db.pool.query('TRUNCATE payment_hold, waiting_charge');
    decline = false;
    provider = new SimulatedPaymentGateway(0, 1, () => (decline ? 0 : 1));
    billing = instance();
  });
  afterAll(async () => {
    await Promise.all(databases.map((database) => database.close()));
    await db.drop();
  });

  describe('when synchronous charges (POST /charges) come at once', () => {
    it('makes them in fewer transactions than callers, each answered with its own status; an unknown concert fails only its own', async () => {
      const concertId = await scheduled(100);
      const jobs = Array.from({ length: 30 }, () => ({ request: chargeOrder(concertId).payload, chargeBy: null }));
      const stranger = { request: chargeOrder(randomUUID()).payload, chargeBy: null };
      const transactions = jest.spyOn(billing.sql, '$transaction');

      // Authorized each on its own, as each caller's request does; then charged all at once.
      await Promise.all([...jobs, stranger].map((job) => billing.charges.prepareAll([job])));
      const answers = await Promise.allSettled([...jobs, stranger].map((job) => billing.syncBatches.charge(job)));

      expect(answers.slice(0, jobs.length)).toEqual(jobs.map(() => ({ status: 'fulfilled', value: 'CAPTURED' })));
      expect(answers[jobs.length]).toEqual({ status: 'rejected', reason: expect.any(UnknownConcertError) });
      expect(transactions.mock.calls.length).toBeGreaterThan(0);
      expect(transactions.mock.calls.length).toBeLessThan(jobs.length);
      await expect(seatsSold(concertId)).resolves.toBe(2 * jobs.length);
      for (const { request } of jobs) {
        await expect(chargesOf(request.orderId)).resolves.toEqual([expect.objectContaining({ status: 'CAPTURED' })]);
        await expect(sent('PaymentCaptured', request.orderId)).resolves.toHaveLength(1);
      }
      transactions.mockRestore();
    });
  });

  describe('when a job comes to Billing after its charge-by', () => {
    it('declines it TIMED_OUT: no hold asked for, no seat taken, ChargeTimedOut; and never charges it later', async () => {
      const concertId = await scheduled();
      const job = chargeOrder(concertId, 60_000);
      later(60_000); // it waited in the queue through a long outage

      await expect(work(billing, job)).resolves.toEqual([{ kind: 'ack', as: 'done' }]);
      // Checkout sends it again (a synchronous retry, an old copy): still declined.
      await work(billing, checkout.create(ChargeOrder, job.payload));
      await billing.sweeper.sweep();

      await expect(chargesOf(job.payload.orderId)).resolves.toEqual([expect.objectContaining({ status: 'TIMED_OUT' })]);
      await expect(seatsSold(concertId)).resolves.toBe(0);
      expect((await sent('ChargeTimedOut', job.payload.orderId)).map((e) => e.payload)).toEqual([
        { orderId: job.payload.orderId, concertId, chargeBy: job.payload.chargeBy },
      ]);
      await expect(sent('PaymentCaptured', job.payload.orderId)).resolves.toEqual([]);
      expect(provider.calls.authorizations).toBe(0);
    });
  });

  describe('when a job comes before its concert is known', () => {
    it('waits for it, past the old retry limit, and charges it once the concert arrives: no dead letter', async () => {
      const announcement = await concert();
      const job = chargeOrder(announcement.payload.concertId);

      // Retried, it would be dead-lettered after some 15 s: it waits instead, done with for the queue.
      await expect(work(billing, job)).resolves.toEqual([{ kind: 'ack', as: 'done' }]);
      later(20_000);
      await billing.sweeper.sweep();
      await expect(waitingRows()).resolves.toBe(1);
      await announce(billing, announcement);

      // The concert put it back on the work queue, in the same conversation.
      const [resumed] = await sent('ChargeOrder', job.payload.orderId);
      expect(resumed).toMatchObject({ payload: job.payload, correlationId: job.correlationId, causationId: job.id });
      await expect(work(billing, resumed as Envelope)).resolves.toEqual([{ kind: 'ack', as: 'done' }]);
      await billing.sweeper.sweep();

      await expect(chargesOf(job.payload.orderId)).resolves.toEqual([expect.objectContaining({ status: 'CAPTURED', amount_cents: 9000 })]);
      await expect(sent('PaymentCaptured', job.payload.orderId)).resolves.toHaveLength(1);
      await expect(waitingRows()).resolves.toBe(0);
      expect(billing.pipeline.counters.deadLettered).toBe(0);
      expect(provider.openHolds).toBe(0);
    });

    it('declines it TIMED_OUT when its charge-by passes first, and the concert arriving later changes nothing', async () => {
      const announcement = await concert();
      const job = chargeOrder(announcement.payload.concertId, 60_000);
      await work(billing, job);

      later(60_000);
      await billing.sweeper.sweep();
      await announce(billing, announcement);

      await expect(chargesOf(job.payload.orderId)).resolves.toEqual([expect.objectContaining({ status: 'TIMED_OUT' })]);
      await expect(sent('ChargeTimedOut', job.payload.orderId)).resolves.toHaveLength(1);
      await expect(sent('ChargeOrder', job.payload.orderId)).resolves.toEqual([]);
      await expect(waitingRows()).resolves.toBe(0);
    });

    it('never leaves a job waiting for a concert that arrived as it was put aside', async () => {
      const announcements = await Promise.all(Array.from({ length: 10 }, () => concert()));
      const jobs = announcements.map((a) => chargeOrder(a.payload.concertId));
      const other = instance();

      // Each job and its concert at the same moment, on two instances.
      const outcomes: Settlement[] = [];
      for (const [i, announcement] of announcements.entries()) {
        const [settlements] = await Promise.all([work(billing, jobs[i]), announce(other, announcement)]);
        outcomes.push(settlements[0]);
      }

      // Each was charged, put back on the queue by its concert, or told to come again: none waits.
      await expect(waitingRows()).resolves.toBe(0);
      for (const [i, job] of jobs.entries()) {
        const charged = (await chargesOf(job.payload.orderId)).length === 1;
        const resumed = (await sent('ChargeOrder', job.payload.orderId)).length === 1;
        const retried = outcomes[i].kind === 'retry';
        expect({ order: i, ways: [charged, resumed, retried].filter(Boolean).length }).toEqual({ order: i, ways: 1 });
      }
    });
  });

  describe('the payment holds', () => {
    it('authorizes an order once when two instances prepare its job at the same moment', async () => {
      const orders = Array.from({ length: 50 }, () => ({ orderId: uuidV7(), amountCents: 9000 }));
      const ledgers = [billing.sql, instance().sql].map((sql) => new PaymentHoldLedger(provider, sql, clock));

      // Each order prepared by both at once, as a duplicate delivery does.
      await Promise.all(orders.map((order) => Promise.all(ledgers.map((ledger) => ledger.authorizeAll([order])))));

      expect(provider.calls.authorizations).toBe(orders.length);
      await expect(holdRows()).resolves.toBe(orders.length);
    });

    it('leaves none open when the same job is delivered to two instances at once', async () => {
      const concertId = await scheduled();
      const job = chargeOrder(concertId);
      const other = instance();

      await Promise.all([work(billing, job), work(other, job)]);
      await Promise.all([billing.sweeper.sweep(), other.sweeper.sweep()]);

      await expect(chargesOf(job.payload.orderId)).resolves.toEqual([expect.objectContaining({ status: 'CAPTURED' })]);
      expect(provider.calls.captures).toHaveLength(1);
      expect(provider.openHolds).toBe(0);
      await expect(holdRows()).resolves.toBe(0);
    });

    it('gives back at once a hold authorized for an order another instance charged meanwhile', async () => {
      // The duplicate's instance looked for a charge before the other committed one, and asks the
      // provider after: as its prepare would, straight to the ledger.
      const concertId = await scheduled();
      const job = chargeOrder(concertId);
      await work(billing, job);
      await expect(chargesOf(job.payload.orderId)).resolves.toEqual([expect.objectContaining({ status: 'CAPTURED' })]);
      const other = instance();
      await new PaymentHoldLedger(provider, other.sql, clock).authorizeAll([{ orderId: job.payload.orderId, amountCents: 9000 }]);

      await other.sweeper.sweep();

      expect(provider.openHolds).toBe(0);
      await expect(holdRows()).resolves.toBe(0);
    });

    it('leaves none open when a batch prepared its holds and then did not commit, and the job is charged elsewhere', async () => {
      const concertId = await scheduled();
      const jobs = [chargeOrder(concertId), chargeOrder(concertId)];
      const down = instance(() => ({ $transaction: () => Promise.reject(new Error('the database went away')) }));

      await expect(work(down, ...jobs)).rejects.toThrow('the database went away');
      expect(provider.openHolds).toBe(2); // authorized before the transaction, which never came
      await work(billing, ...jobs); // the broker delivered them again, to another instance
      await billing.sweeper.sweep();

      expect(provider.calls.captures).toHaveLength(2);
      expect(provider.calls.authorizations).toBe(2); // the holds prepared by the first were taken, not asked again
      expect(provider.openHolds).toBe(0);
      await expect(holdRows()).resolves.toBe(0);
    });

    it('leaves none open when the instance that prepared them stops and no charge takes them', async () => {
      const concertId = await scheduled();
      const job = chargeOrder(concertId);
      const stopped = instance();

      await stopped.handler.prepare([job]); // then the process died, before its transaction
      expect(provider.openHolds).toBe(1);
      later(60_000);
      await billing.sweeper.sweep();
      expect(provider.openHolds).toBe(1); // within its grace a redelivery could still take it
      later(120_000);
      await billing.sweeper.sweep();

      expect(provider.openHolds).toBe(0);
      expect(provider.calls.voids).toHaveLength(1);
      await expect(holdRows()).resolves.toBe(0);
    });

    it('charges an order whose authorization died with its instance, once that call is past its deadline', async () => {
      const concertId = await scheduled();
      const job = chargeOrder(concertId);
      // An instance whose provider call never comes back, as one SIGKILLed in the middle of it.
      const silent: PaymentGateway = {
        authorize: () => new Promise(() => {}),
        capture: (paymentId) => provider.capture(paymentId),
        void: (paymentId) => provider.void(paymentId),
        refund: (paymentId) => provider.refund(paymentId),
      };
      const dying = new PaymentHoldLedger(silent, billing.sql, clock);
      void dying.authorizeAll([{ orderId: job.payload.orderId, amountCents: 9000 }]).catch(() => {});
      await waitFor(holdRows, (n) => n === 1, { description: 'the authorization to be recorded' });

      // Under way, as far as anyone can tell: the job is not charged yet, and nothing is asked twice.
      await work(billing, job).catch(() => {});
      await expect(chargesOf(job.payload.orderId)).resolves.toEqual([]);
      expect(provider.calls.authorizations).toBe(0);

      // Past the deadline nobody waits for that call: the job's next attempt authorizes anew.
      later(AUTHORIZATION_TIMEOUT_MS);
      await work(billing, job);
      await billing.sweeper.sweep();
      await expect(chargesOf(job.payload.orderId)).resolves.toEqual([expect.objectContaining({ status: 'CAPTURED' })]);
      expect(provider.calls.voids).toHaveLength(1); // the dead call's payment, in case the provider held it
      expect(provider.openHolds).toBe(0);
      await expect(holdRows()).resolves.toBe(0);
    });

    it('leaves none open when the last seats go to another order of the batch, or the provider declines', async () => {
      const concertId = await scheduled(2);
      const first = chargeOrder(concertId, 540_000, 2);
      const soldOut = chargeOrder(concertId, 540_000, 1);

      await work(billing, first, soldOut);
      decline = true;
      const declined = chargeOrder(await scheduled());
      await work(billing, declined);
      await billing.sweeper.sweep();

      await expect(chargesOf(first.payload.orderId)).resolves.toEqual([expect.objectContaining({ status: 'CAPTURED' })]);
      await expect(chargesOf(soldOut.payload.orderId)).resolves.toEqual([expect.objectContaining({ status: 'SEATS_UNAVAILABLE' })]);
      await expect(chargesOf(declined.payload.orderId)).resolves.toEqual([expect.objectContaining({ status: 'DECLINED' })]);
      expect(provider.calls.voids).toHaveLength(1); // the sold-out order's hold
      expect(provider.openHolds).toBe(0);
      await expect(holdRows()).resolves.toBe(0);
    });
  });

  describe('the sweeper, as part of the application', () => {
    it('captures at once after a batch commits, not at its next interval, and stops at shutdown without waiting it out', async () => {
      const concertId = await scheduled();
      billing.sweeper.onApplicationBootstrap();
      try {
        // The first may be captured by the round it runs at start; the second comes after that round.
        for (const captures of [1, 2]) {
          await work(billing, chargeOrder(concertId));

          // The interval is a minute: only the batch's wake brings the capture this soon.
          await waitFor(
            () => provider.calls.captures.length,
            (n) => n === captures,
            { timeoutMs: 10_000, description: `capture ${captures}` },
          );
        }
      } finally {
        const stopping = performance.now();
        await billing.sweeper.beforeApplicationShutdown();
        expect(performance.now() - stopping).toBeLessThan(1_000);
      }
      expect(provider.openHolds).toBe(0);
    });
  });

  describe('when Checkout asks for a captured payment back (RefundPayment)', () => {
    it('refunds it once, puts its seats back on sale, says PaymentRefunded, and never charges the order again', async () => {
      const concertId = await scheduled();
      const job = chargeOrder(concertId);
      await work(billing, job);
      await billing.sweeper.sweep();
      const [{ id: paymentId }] = await chargesOf(job.payload.orderId);
      const refund = (): Envelope =>
        checkout.create(RefundPayment, { orderId: job.payload.orderId, paymentId, amountCents: 9000, reason: 'TIMED_OUT' });

      await work(billing, refund());
      await work(billing, refund()); // asked again: nothing more
      await work(billing, checkout.create(ChargeOrder, job.payload)); // and the old job again
      await billing.sweeper.sweep();

      expect(provider.calls.refunds).toEqual([paymentId]);
      expect(provider.calls.captures).toEqual([paymentId]);
      expect(provider.calls.authorizations).toBe(1);
      await expect(chargesOf(job.payload.orderId)).resolves.toEqual([expect.objectContaining({ status: 'REFUNDED' })]);
      await expect(seatsSold(concertId)).resolves.toBe(0);
      expect((await sent('PaymentRefunded', job.payload.orderId)).map((e) => e.payload)).toEqual([
        { orderId: job.payload.orderId, concertId, quantity: 2, amountCents: 9000, paymentId, reason: 'TIMED_OUT' },
      ]);
    });

    it('voids the hold instead when the capture had not been done yet: no money moves', async () => {
      const concertId = await scheduled();
      const job = chargeOrder(concertId);
      await work(billing, job); // charged; the provider's capture is still to come
      const [{ id: paymentId }] = await chargesOf(job.payload.orderId);

      await work(
        billing,
        checkout.create(RefundPayment, { orderId: job.payload.orderId, paymentId, amountCents: 9000, reason: 'TIMED_OUT' }),
      );
      await billing.sweeper.sweep();

      expect(provider.calls.captures).toEqual([]);
      expect(provider.calls.refunds).toEqual([]);
      expect(provider.stateOf(paymentId)).toBe('voided');
      expect(provider.openHolds).toBe(0);
      await expect(holdRows()).resolves.toBe(0);
    });
  });
});
