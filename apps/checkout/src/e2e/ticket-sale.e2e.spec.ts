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
    const accepted = (await response.json()) as { orderId: string; status: string; statusUrl: string };
    expect(accepted).toEqual({ orderId: expect.any(String), status: 'PENDING', statusUrl: `/orders/${accepted.orderId}` });

    await expect(settled(accepted.orderId)).resolves.toMatchObject({ status: 'CONFIRMED', reason: null });
  });

  describe('when 50 buyers compete for the last 10 seats', () => {
    it('sells exactly 10 and rejects the rest as SOLD_OUT', async () => {
      const concertId = await checkout.scheduleConcert(10);
      const responses = await Promise.all(Array.from({ length: 50 }, () => checkout.placeOrder(concertId, 1)));
      expect(responses.map((r) => r.status)).toEqual(Array(50).fill(202));
      const orderIds = await Promise.all(responses.map(async (r) => ((await r.json()) as { orderId: string }).orderId));

      const orders = await Promise.all(orderIds.map(settled));
      expect(orders.filter((o) => o.status === 'CONFIRMED')).toHaveLength(10);
      expect(orders.filter((o) => o.status === 'REJECTED').map((o) => o.reason)).toEqual(Array(40).fill('SOLD_OUT'));
      const { rows } = await billingDb.query('SELECT seats_sold FROM seat_inventory WHERE concert_id = $1', [concertId]);
      expect(rows).toEqual([{ seats_sold: 10 }]);
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
