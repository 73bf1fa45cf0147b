import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { TestSystem } from '@boxoffice/e2e';
import { waitFor } from '@boxoffice/testing';
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { CheckoutApi } from './checkout-api.js';

describe('the ticket sale, with Checkout and Billing running as processes', () => {
  const system = new TestSystem();
  let checkout: CheckoutApi;
  let billingDb: pg.Pool;

  beforeAll(async () => {
    const [checkoutProcess] = await Promise.all([
      system.start('checkout'),
      system.start('billing', { PAYMENT_DECLINE_RATE: '0', PAYMENT_LATENCY_MS: '1' }),
    ]);
    checkout = new CheckoutApi(checkoutProcess.url);
    billingDb = new pg.Pool({ connectionString: system.databaseUrl('billing') });
  });
  afterAll(async () => {
    await billingDb.end();
    await system.teardown();
  });

  const settled = (orderId: string) =>
    waitFor(
      () => checkout.order(orderId),
      (order) => order.status !== 'PENDING',
      { description: `order ${orderId} to settle` },
    );

  it('takes a purchase as PENDING and confirms it once Billing has charged it', async () => {
    const concertId = await checkout.scheduleConcert(100);
    const response = await checkout.placeOrder(concertId, 2);
    expect(response.status).toBe(202);
    const accepted = (await response.json()) as { orderId: string };
    expect(accepted).toEqual({
      orderId: expect.any(String),
      status: 'PENDING',
      // Nobody ahead; how fast the line moves is not known before it has moved.
      position: 0,
      estimatedWaitSeconds: null,
      statusUrl: `/orders/${accepted.orderId}`,
      eventsUrl: `/orders/${accepted.orderId}/events`,
      pageUrl: `/orders/${accepted.orderId}/page`,
    });

    await expect(settled(accepted.orderId)).resolves.toMatchObject({ status: 'CONFIRMED', reason: null });
  });

  describe('when 50 buyers compete for the last 10 seats', () => {
    it('sells exactly 10, and turns the other 40 away at the door as sold out: no order, no charge for them', async () => {
      const concertId = await checkout.scheduleConcert(10);
      const keys = Array.from({ length: 50 }, () => randomUUID());
      const responses = await Promise.all(keys.map((key) => checkout.placeOrder(concertId, 1, key)));
      expect(responses.filter((r) => r.status === 202)).toHaveLength(10);
      const refused = responses.filter((r) => r.status === 409);
      expect(refused).toHaveLength(40);
      for (const r of refused)
        await expect(r.json()).resolves.toMatchObject({ reason: 'SOLD_OUT', message: expect.stringMatching(/sold out/) });
      const orderIds = await Promise.all(
        responses.filter((r) => r.status === 202).map(async (r) => ((await r.json()) as { orderId: string }).orderId),
      );
      // Sold out now, and remembered so (the buyers after are turned away without a statement): a
      // repeat of a purchase made before is still answered with its order, a new buyer is not.
      const repeat = await checkout.placeOrder(concertId, 1, keys[responses.findIndex((r) => r.status === 202)]);
      expect(repeat.status).toBe(202);
      await expect(repeat.json()).resolves.toMatchObject({ orderId: orderIds[0] });
      await expect(checkout.placeOrder(concertId, 1)).resolves.toMatchObject({ status: 409 });

      const orders = await Promise.all(orderIds.map(settled));
      expect(orders.map((o) => o.status)).toEqual(Array(10).fill('CONFIRMED'));
      const { rows } = await billingDb.query(
        'SELECT seats_sold, (SELECT count(*)::int FROM charge c WHERE c.concert_id = s.concert_id) AS charges FROM seat_inventory s WHERE concert_id = $1',
        [concertId],
      );
      expect(rows).toEqual([{ seats_sold: 10, charges: 10 }]);
    });
  });

  describe('when the same Idempotency-Key is sent twice', () => {
    it('makes one order and one charge', async () => {
      const concertId = await checkout.scheduleConcert(100);
      const key = randomUUID();
      const [first, second] = await Promise.all([checkout.placeOrder(concertId, 1, key), checkout.placeOrder(concertId, 1, key)]);
      const ids = await Promise.all([first, second].map(async (r) => ((await r.json()) as { orderId: string }).orderId));
      expect(ids[0]).toBe(ids[1]);
      await settled(ids[0]);
      const { rows } = await billingDb.query('SELECT count(*)::int AS charges FROM charge WHERE order_id = $1', [ids[0]]);
      expect(rows).toEqual([{ charges: 1 }]);
    });
  });
});
