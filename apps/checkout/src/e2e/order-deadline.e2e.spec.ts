import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { TestSystem, type ServiceProcess } from '@boxoffice/e2e';
import { waitFor } from '@boxoffice/testing';
import pg from 'pg';
import { CheckoutApi } from './checkout-api.js';

// The order deadline across the real system: Checkout, Billing, RabbitMQ and Kafka as they run,
// with a deadline of seconds instead of minutes. Billing is down past it: the orders are settled
// TIMED_OUT for their buyers, and Billing, back, declines the jobs it finds past their chargeBy.
describe('when Billing is down past the deadline of the orders accepted meanwhile', () => {
  const system = new TestSystem();
  const billingEnv = { PAYMENT_DECLINE_RATE: '0', PAYMENT_LATENCY_MS: '1' };
  let billing: ServiceProcess;
  let checkout: CheckoutApi;
  let billingDb: pg.Pool;
  let concertId: string;
  let timedOut: string[] = [];

  beforeAll(async () => {
    const [checkoutProcess, billingProcess] = await Promise.all([
      system.start('checkout', { ORDER_PENDING_DEADLINE_MS: '8000', ORDER_CHARGE_MARGIN_MS: '2000', ORDER_SWEEP_INTERVAL_MS: '500' }),
      system.start('billing', billingEnv),
    ]);
    billing = billingProcess;
    checkout = new CheckoutApi(checkoutProcess.url);
    billingDb = new pg.Pool({ connectionString: system.databaseUrl('billing'), max: 2 });
    concertId = await checkout.scheduleConcert(100);
    // Billing knows the concert once it has confirmed an order for it.
    const [first] = await checkout.placeOrders(concertId, 1);
    await waitFor(
      () => checkout.order(first),
      (order) => order.status === 'CONFIRMED',
      { timeoutMs: 30_000, description: 'a first order to be confirmed' },
    );
  });
  afterAll(async () => {
    await billingDb.end();
    await system.teardown();
  });

  it('settles them REJECTED, TIMED_OUT, once their deadline has passed', async () => {
    await billing.stop();
    timedOut = await checkout.placeOrders(concertId, 5);

    const orders = await waitFor(
      () => Promise.all(timedOut.map((id) => checkout.order(id))),
      (all) => all.every((order) => order.status !== 'PENDING'),
      { timeoutMs: 30_000, description: 'the orders to reach their deadline' },
    );

    expect(orders.map(({ status, reason }) => ({ status, reason }))).toEqual(Array(5).fill({ status: 'REJECTED', reason: 'TIMED_OUT' }));
  });

  it('and Billing, back, declines their jobs as past their charge-by: nothing captured, no seat taken', async () => {
    billing = await system.start('billing', billingEnv);

    const charges = await waitFor(
      async () => (await billingDb.query<{ status: string }>('SELECT status::text FROM charge WHERE order_id = ANY($1)', [timedOut])).rows,
      (rows) => rows.length === timedOut.length,
      { timeoutMs: 30_000, description: 'Billing to work through the jobs' },
    );

    expect(charges.map((c) => c.status)).toEqual(Array(5).fill('TIMED_OUT'));
    const { rows } = await billingDb.query('SELECT seats_sold FROM seat_inventory WHERE concert_id = $1', [concertId]);
    expect(rows).toEqual([{ seats_sold: 1 }]); // the first order's only
    const after = await Promise.all(timedOut.map((id) => checkout.order(id)));
    expect(new Set(after.map((order) => order.reason))).toEqual(new Set(['TIMED_OUT']));
  });
});
