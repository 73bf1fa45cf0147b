import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { TestSystem, type ServiceProcess } from '@boxoffice/e2e';
import { waitFor } from '@boxoffice/testing';
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { CheckoutApi } from './checkout-api.js';

/** The bounds a restart must keep, counted from the moment the new process is spawned. */
const CHECKOUT_ACCEPTS_WITHIN_MS = 3_000;
const BILLING_TAKES_JOBS_WITHIN_MS = 5_000;
const QUEUED_ORDERS = 20;

// Staying available after a crash: a SIGKILLed instance leaves no goodbye, so its Kafka group
// keeps the dead member until the session timeout (KAFKA_SESSION_TIMEOUT_MS, 10 s) runs out, and
// a new member's join waits for that. Accepting must not wait with it (the outbox needs only
// PostgreSQL), nor may a RabbitMQ work queue, which the broker hands over as soon as the dead
// connection closes. The figures are printed, so a run shows how far inside the bounds they are.
// It times a start, so `npm test` runs it alone, after the rest (*.disruptive.*), as it does the
// specs that restart a broker: beside two other Jest workers' services a start takes twice as long.
describe('when a service is killed with SIGKILL and started again', () => {
  const system = new TestSystem();
  const billingEnv = { PAYMENT_DECLINE_RATE: '0', PAYMENT_LATENCY_MS: '1' };
  let checkoutProcess: ServiceProcess;
  let billingProcess: ServiceProcess;
  let checkout: CheckoutApi;
  let billingDb: pg.Pool;
  let concertId: string;

  beforeAll(async () => {
    [checkoutProcess, billingProcess] = await Promise.all([system.start('checkout'), system.start('billing', billingEnv)]);
    checkout = new CheckoutApi(checkoutProcess.url);
    billingDb = new pg.Pool({ connectionString: system.databaseUrl('billing'), max: 2 });
    concertId = await checkout.scheduleConcert(1_000);
    // One purchase all the way through: Billing knows the concert (over Kafka) before anything is measured.
    const response = await checkout.placeOrder(concertId, 1);
    const { orderId } = (await response.json()) as { orderId: string };
    await waitFor(
      () => checkout.order(orderId),
      (order) => order.status === 'CONFIRMED',
      { description: 'the first order to be confirmed' },
    );
  });
  afterAll(async () => {
    await billingDb.end();
    await system.teardown();
  });

  describe('Checkout', () => {
    it('answers 202 to a purchase within 3 s of its process starting, while its Kafka group still waits on the dead member', async () => {
      await checkoutProcess.kill();
      checkoutProcess = await system.start('checkout', {}, { waitFor: 'nothing' });
      checkout = new CheckoutApi(checkoutProcess.url);

      // One Idempotency-Key for every attempt: however many land, they make one order.
      const key = randomUUID();
      const accepted = await waitFor(
        async () => {
          const response = await checkout.placeOrder(concertId, 1, key); // refused until it listens: waitFor retries
          const at = performance.now();
          return {
            status: response.status,
            at,
            orderId: response.status === 202 ? ((await response.json()) as { orderId: string }).orderId : null,
          };
        },
        ({ status }) => status === 202,
        { timeoutMs: 30_000, intervalMs: 20, description: 'the restarted Checkout to answer 202' },
      );
      const consuming = await fetch(`${checkoutProcess.url}/health/consuming`);
      const consumingBody = (await consuming.json()) as { error?: Record<string, unknown> };
      const acceptedAfterMs = Math.round(accepted.at - checkoutProcess.spawnedAt);
      console.log(
        `restart figures: Checkout answered its first 202 ${acceptedAfterMs} ms after its process was spawned; /health/consuming then answered ${consuming.status}`,
      );

      expect(acceptedAfterMs).toBeLessThan(CHECKOUT_ACCEPTS_WITHIN_MS);
      // Proof that accepting did not wait for the group: at the first 202, the consumer was not in yet.
      expect(consuming.status).toBe(503);
      expect(Object.keys(consumingBody.error ?? {})).toContain('kafka consumer');
      // And nothing is lost meanwhile: the purchase goes through once the group settles.
      await expect(
        waitFor(
          () => checkout.order(accepted.orderId!),
          (order) => order.status !== 'PENDING',
          { timeoutMs: 45_000, description: 'the order accepted at restart to settle' },
        ),
      ).resolves.toMatchObject({ status: 'CONFIRMED' });
    });
  });

  describe('Billing', () => {
    it('takes the jobs queued while it was down within 5 s of its process starting', async () => {
      await billingProcess.kill();
      const before = (await checkout.stats()).queueDepth ?? 0;
      const orderIds = await checkout.placeOrders(concertId, QUEUED_ORDERS);
      // All of them in the charge queue, and nobody consuming it: the dead instance's channels went with its connection.
      await waitFor(
        () => checkout.stats(),
        (stats) => stats.queueDepth === before + QUEUED_ORDERS && stats.queueConsumers === 0,
        { description: `the ${QUEUED_ORDERS} charges to be queued with no consumer` },
      );

      billingProcess = await system.start('billing', billingEnv, { waitFor: 'nothing' });
      const charged = async () =>
        (await billingDb.query('SELECT count(*)::int AS n FROM charge WHERE order_id::text = ANY($1::text[])', [orderIds])).rows[0]
          .n as number;
      await waitFor(charged, (n) => n > 0, {
        timeoutMs: 30_000,
        intervalMs: 20,
        description: 'the restarted Billing to charge a queued order',
      });
      const firstJobAfterMs = Math.round(performance.now() - billingProcess.spawnedAt);
      await waitFor(charged, (n) => n === QUEUED_ORDERS, {
        timeoutMs: 30_000,
        intervalMs: 20,
        description: 'the restarted Billing to charge every queued order',
      });
      const drainedAfterMs = Math.round(performance.now() - billingProcess.spawnedAt);
      console.log(
        `restart figures: Billing charged its first queued order ${firstJobAfterMs} ms and all ${QUEUED_ORDERS} ${drainedAfterMs} ms after its process was spawned`,
      );

      expect(firstJobAfterMs).toBeLessThan(BILLING_TAKES_JOBS_WITHIN_MS);
      // Once each, and every one confirmed back in Checkout.
      const { rows } = await billingDb.query(
        'SELECT count(DISTINCT order_id)::int AS orders, count(*)::int AS charges FROM charge WHERE order_id::text = ANY($1::text[])',
        [orderIds],
      );
      expect(rows).toEqual([{ orders: QUEUED_ORDERS, charges: QUEUED_ORDERS }]);
      const settled = await waitFor(
        () => Promise.all(orderIds.map((id) => checkout.order(id))),
        (orders) => orders.every((order) => order.status !== 'PENDING'),
        { timeoutMs: 45_000, description: 'the queued orders to settle' },
      );
      expect(settled.map((order) => order.status)).toEqual(Array(QUEUED_ORDERS).fill('CONFIRMED'));
    });
  });
});
