import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { freePort, TestSystem, type ServiceProcess } from '@boxoffice/e2e';
import { waitFor } from '@boxoffice/testing';
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { CheckoutApi } from './checkout-api.js';

// Temporal coupling, shown both ways round: the same outage of Billing, met by the asynchronous
// purchase (accepted, buffered in the queue, confirmed later) and the synchronous one (refused).
describe('when Billing is down during a sale', () => {
  const system = new TestSystem();
  // Billing keeps its port across the restart, so that Checkout's BILLING_URL (the synchronous
  // path) points at the same instance before, during and after the outage.
  let billingEnv: Record<string, string>;
  let billing: ServiceProcess;
  let checkout: CheckoutApi;
  let checkoutDb: pg.Pool;
  let concertId: string;
  const acceptedDuringOutage: string[] = [];

  beforeAll(async () => {
    const billingPort = String(await freePort());
    billingEnv = { PORT: billingPort, PAYMENT_DECLINE_RATE: '0', PAYMENT_LATENCY_MS: '1' };
    // A long sync timeout: a 503 that comes back fast is then the refused connection, not a timeout.
    const [checkoutProcess, billingProcess] = await Promise.all([
      system.start('checkout', { BILLING_URL: `http://127.0.0.1:${billingPort}`, SYNC_TIMEOUT_MS: '10000' }),
      system.start('billing', billingEnv),
    ]);
    billing = billingProcess;
    checkout = new CheckoutApi(checkoutProcess.url);
    checkoutDb = new pg.Pool({ connectionString: system.databaseUrl('checkout'), max: 2 });
    concertId = await checkout.scheduleConcert(100);
  });
  afterAll(async () => {
    await checkoutDb.end();
    await system.teardown();
  });

  describe('while Billing is up', () => {
    it('confirms a synchronous purchase in the response itself', async () => {
      // Billing learns of the concert through Kafka; until then it answers 503 for it.
      const response = await waitFor(
        () => checkout.placeOrder(concertId, 1, randomUUID(), '/orders/sync'),
        (r) => r.status !== 503,
        { description: 'Billing to know the concert' },
      );
      expect(response.status).toBe(201);
      await expect(response.json()).resolves.toMatchObject({ status: 'CONFIRMED' });
    });
  });

  describe('while Billing is stopped', () => {
    beforeAll(async () => {
      await billing.stop();
    });

    it('still accepts asynchronous purchases, and they wait in the charge queue', async () => {
      acceptedDuringOutage.push(...(await checkout.placeOrders(concertId, 20)));

      const stats = await waitFor(
        () => checkout.stats(),
        (s) => s.queueDepth === 20,
        { description: 'the 20 charges to be queued' },
      );
      expect(stats.queueConsumers).toBe(0);
      const statuses = await Promise.all(acceptedDuringOutage.map(async (id) => (await checkout.order(id)).status));
      expect(new Set(statuses)).toEqual(new Set(['PENDING']));
    });

    it('refuses a synchronous purchase at once with 503, its order left PENDING for its deadline', async () => {
      const key = randomUUID();
      const started = performance.now();
      const response = await checkout.placeOrder(concertId, 1, key, '/orders/sync');
      const elapsedMs = performance.now() - started;

      expect(response.status).toBe(503);
      expect(elapsedMs).toBeLessThan(1_000); // the sync timeout is 10 s: this is a refused connection
      // Written before Billing was asked (so that Billing's own PaymentCaptured always finds it):
      // asked again with the key, it is charged; if not, its deadline settles it TIMED_OUT.
      const { rows } = await checkoutDb.query('SELECT status::text FROM "order" WHERE idempotency_key = $1', [key]);
      expect(rows).toEqual([{ status: 'PENDING' }]);
    });
  });

  describe('once Billing is back', () => {
    beforeAll(async () => {
      billing = await system.start('billing', billingEnv);
    });

    it('confirms every purchase accepted during the outage and empties the queue', async () => {
      const settled = await waitFor(
        () => Promise.all(acceptedDuringOutage.map((id) => checkout.order(id))),
        (orders) => orders.every((order) => order.status !== 'PENDING'),
        { description: 'the orders accepted during the outage to settle' },
      );
      expect(settled.map((order) => order.status)).toEqual(Array(20).fill('CONFIRMED'));
      // Billing consumes again: each instance has a channel per batch in flight (BILLING_CONCURRENCY).
      // The dashboard's figures are a second old at most: waited for, not read once.
      await waitFor(
        () => checkout.stats(),
        (stats) => stats.queueDepth === 0 && (stats.queueConsumers ?? 0) > 0,
        { description: 'the charge queue empty, with consumers on it' },
      );
    });
  });
});
