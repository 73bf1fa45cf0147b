import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { TestSystem, type ServiceProcess } from '@boxoffice/e2e';
import { ChargeOrder } from '@boxoffice/contracts';
import { EnvelopeFactory } from '@boxoffice/messaging';
import { metricNames } from '@boxoffice/platform';
import { waitFor } from '@boxoffice/testing';
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { CheckoutApi } from './checkout-api.js';

/** The sum of a metric's samples on a service's /metrics (0 when it has none yet). */
async function metric(service: ServiceProcess, name: string): Promise<number> {
  const text = await (await fetch(`${service.url}/metrics`)).text();
  const samples = [...text.matchAll(new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, 'gm'))];
  return samples.reduce((sum, [, value]) => sum + Number(value), 0);
}

// One row in Checkout's outbox that RabbitMQ refuses (its queue does not exist), among the
// ChargeOrders of 20 purchases: each purchase is charged once, and nothing is published twice
// because of its neighbour; the row is tried on its own and parked after its attempts.
describe('when one outbox message goes to a queue that does not exist', () => {
  const system = new TestSystem();
  let checkoutProcess: ServiceProcess;
  let billingProcess: ServiceProcess;
  let checkout: CheckoutApi;
  let checkoutDb: pg.Pool;

  beforeAll(async () => {
    [checkoutProcess, billingProcess] = await Promise.all([
      system.start('checkout', { OUTBOX_MAX_ATTEMPTS: '3' }),
      system.start('billing', { PAYMENT_DECLINE_RATE: '0', PAYMENT_LATENCY_MS: '1' }),
    ]);
    checkout = new CheckoutApi(checkoutProcess.url);
    checkoutDb = new pg.Pool({ connectionString: system.databaseUrl('checkout'), max: 2 });
  });
  afterAll(async () => {
    await checkoutDb.end();
    await system.teardown();
  });

  it('publishes every other message once, and parks that one after its attempts', async () => {
    const concertId = await checkout.scheduleConcert(100);
    // A ChargeOrder as Checkout writes one, to a queue nobody declared.
    const poison = new EnvelopeFactory('checkout').create(ChargeOrder, {
      orderId: randomUUID(),
      concertId,
      quantity: 1,
      customerEmail: 'nobody@example.com',
    });
    await checkoutDb.query(
      `INSERT INTO outbox_message (id, type, destination, partition_key, envelope) VALUES ($1, 'ChargeOrder', $2, 'poison', $3)`,
      [poison.id, { transport: 'rabbitmq', channel: `${system.namespace}.billing.nobody`, key: 'poison' }, poison],
    );
    const orderIds = await checkout.placeOrders(concertId, 20);

    const orders = await waitFor(
      () => Promise.all(orderIds.map((id) => checkout.order(id))),
      (all) => all.every((order) => order.status !== 'PENDING'),
      { timeoutMs: 60_000, description: 'the 20 orders to settle' },
    );
    expect(orders.map((order) => order.status)).toEqual(Array(20).fill('CONFIRMED'));
    const parked = await waitFor(
      async () => (await checkoutDb.query('SELECT status, attempts, last_error FROM outbox_message WHERE id = $1', [poison.id])).rows[0],
      (row) => row.status === 'parked',
      { timeoutMs: 30_000, description: 'the refused message to be parked' },
    );
    expect(parked).toEqual({ status: 'parked', attempts: 3, last_error: expect.stringMatching(/unroutable/) });
    // Before, the whole batch was published again with every retry of that one row: Billing's inbox dropped hundreds of copies.
    expect(await metric(billingProcess, metricNames.inboxDuplicates)).toBe(0);
    expect(await metric(checkoutProcess, metricNames.outboxParked)).toBe(1);
  });
});
